// The examples of docs/api.md, so that the tests run exactly what the page shows. An example is
// the fenced block after an `<!-- example: NAME -->` line; the block right after it, when there
// is one, is what it prints.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const API_DOC = join(import.meta.dirname, "..", "..", "docs", "api.md");

export interface DocExample {
  /** The example's block: a command, or a document. */
  text: string;
  /** The block that follows it: what the command prints; undefined when none does. */
  output: string | undefined;
}

const MARKER = /^<!-- example: ([\w-]+) -->$/;
const FENCE = /^```/;

/** Every example of `file`, by name. */
export function docExamples(file = API_DOC): Map<string, DocExample> {
  const lines = readFileSync(file, "utf8").split("\n");
  const blockAt = (start: number): { text: string; end: number } | undefined => {
    let open = start;
    while (lines[open] === "") open++;
    if (!FENCE.test(lines[open] ?? "")) return undefined;
    const close = lines.findIndex((line, index) => index > open && FENCE.test(line));
    return { text: lines.slice(open + 1, close).join("\n"), end: close + 1 };
  };
  const examples = new Map<string, DocExample>();
  lines.forEach((line, index) => {
    const name = MARKER.exec(line)?.[1];
    if (!name) return;
    const block = blockAt(index + 1);
    if (!block) throw new Error(`${file}:${index + 1}: example '${name}' has no code block`);
    examples.set(name, { text: block.text, output: blockAt(block.end)?.text });
  });
  return examples;
}

/** The example called `name`; throws when the page has none. */
export function docExample(name: string, examples = docExamples()): DocExample {
  const example = examples.get(name);
  if (!example) throw new Error(`docs/api.md has no example '${name}'`);
  return example;
}
