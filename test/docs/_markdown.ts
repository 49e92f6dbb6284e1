// The fenced code blocks of the project's Markdown, so tests can run or check what the docs
// tell people to type.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

export interface CodeBlock {
  /** The file, relative to the repository. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language tag ("sh", "json", …; "" when none). */
  lang: string;
  /** The heading the block is under ("## Quick start …"). */
  section: string;
  text: string;
}

/** Every Markdown file people read: the README, docs/, and the READMEs beside the code. */
export function documentationFiles(): string[] {
  const files = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((name) => name.endsWith(".md"))
      .map((name) => `docs/${name}`),
    "client/README.md",
    "sidecar/simulator/README.md",
    "charts/hostfactory-k8s/README.md",
  ];
  return files.filter((file) => existsSync(join(ROOT, file)));
}

export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const blocks: CodeBlock[] = [];
  let section = "";
  let open: { line: number; lang: string; body: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = /^```(\S*)/.exec(text);
    if (open) {
      if (fence && fence[1] === "") {
        blocks.push({
          file: relative(ROOT, join(ROOT, file)),
          line: open.line,
          lang: open.lang,
          section,
          text: open.body.join("\n"),
        });
        open = undefined;
      } else open.body.push(text);
    } else if (fence) open = { line: index + 1, lang: fence[1] ?? "", body: [] };
    else if (/^#+ /.test(text)) section = text;
  });
  return blocks;
}

/** A shell block's commands: continuation lines joined, comments and blank lines left out. */
export function shellCommands(block: CodeBlock): string[] {
  return block.text
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((line) => line.replace(/\s+#\s.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);
