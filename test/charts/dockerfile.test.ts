// What can be checked of the image without a Docker engine: the Dockerfile's shape, that the
// build context (.dockerignore) holds what it copies, and that everything the sidecar and the
// client import at run time is copied or is a production dependency.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, normalize, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { ROOT } from "./_helm.ts";

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructions(): Instruction[] {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

/** The instructions of the last stage: what the image is. */
function finalStage(all: Instruction[]): Instruction[] {
  const from = all.findLastIndex((i) => i.keyword === "FROM");
  return all.slice(from);
}

/** Context paths the .dockerignore allow list lets in (it must start by excluding everything). */
function contextRoots(): string[] {
  const lines = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  assert.equal(lines[0], "*", ".dockerignore must start with * (an allow list)");
  return lines.slice(1).map((line) => {
    assert.ok(line.startsWith("!"), `.dockerignore: ${line} is not an exception to *`);
    return normalize(line.slice(1)).replace(/\/$/, "");
  });
}

const all = instructions();
const image = finalStage(all);
const copies = image
  .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="))
  .map((i) => {
    const parts = i.args.split(/\s+/);
    return { sources: parts.slice(0, -1), target: parts.at(-1) ?? "" };
  });
const workdir = image.findLast((i) => i.keyword === "WORKDIR")?.args ?? "/";
/** Repository path → where it lands in the image (for copied folders). */
const copiedFolders = copies.flatMap(({ sources, target }) =>
  sources.map((source) => ({ source: normalize(source), target: resolve(workdir, target) })),
);

function isCopied(path: string): boolean {
  return copiedFolders.some(({ source }) => path === source || path.startsWith(`${source}/`));
}

/** Relative and bare module specifiers that `file` loads at run time (type-only imports aside). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const specifiers: string[] = [];
  for (const match of text.matchAll(
    /^\s*(import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?"([^"]+)"/gm,
  )) {
    specifiers.push(match[2] ?? "");
  }
  for (const match of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g))
    specifiers.push(match[1] ?? "");
  return specifiers;
}

describe("Dockerfile", () => {
  test("builds in stages from a slim Node.js 22 or 24 image", () => {
    const stages = all.filter((i) => i.keyword === "FROM");
    assert.ok(stages.length >= 2, "multi-stage");
    const version = all.find((i) => i.keyword === "ARG" && i.args.startsWith("NODE_VERSION="));
    assert.match(version?.args ?? "", /^NODE_VERSION=(22|24)$/);
    for (const stage of stages) {
      assert.match(stage.args, /^node:\$\{NODE_VERSION\}-[a-z]+-slim(\s+AS\s+\S+)?$/i);
    }
  });

  test("installs production dependencies only, exactly as locked", () => {
    const installs = all.filter(
      (i) => i.keyword === "RUN" && /\bnpm\s+(ci|install|i)\b/.test(i.args),
    );
    assert.equal(installs.length, 1, "one npm install");
    assert.match(installs[0]?.args ?? "", /\bnpm ci\b.*--omit=dev/);
    assert.ok(
      !image.some((i) => i.keyword === "RUN" && /\bnpm\b/.test(i.args) && !/rm -rf/.test(i.args)),
      "the final stage runs no npm",
    );
    const dependencies = image.find((i) => i.keyword === "COPY" && i.args.startsWith("--from="));
    assert.match(dependencies?.args ?? "", /node_modules/);
  });

  test("runs as a numeric non-root user", () => {
    const user = image.findLast((i) => i.keyword === "USER")?.args ?? "";
    const [uid, gid] = user.split(":");
    assert.match(user, /^\d+(:\d+)?$/, "numeric, so that runAsNonRoot can check it");
    assert.ok(Number(uid) > 0 && (gid === undefined || Number(gid) > 0), "not root");
  });

  test("starts the sidecar, which package.json names hostfactory-sidecar", () => {
    const entrypoint = image.findLast((i) => i.keyword === "ENTRYPOINT")?.args ?? "";
    const [node, main, ...rest] = JSON.parse(entrypoint) as string[];
    assert.equal(node, "node");
    assert.deepEqual(rest, []);
    const { bin } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    assert.equal(main, bin["hostfactory-sidecar"]);
    assert.ok(main && isCopied(normalize(main)), `${main} is copied into the image`);
  });

  test("copies only what the build context holds", () => {
    const roots = contextRoots();
    for (const { source } of copiedFolders) {
      assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
      assert.ok(roots.includes(source), `${source} is let in by .dockerignore`);
    }
  });

  test("ships the client, the HostFactory scripts and the example templates", () => {
    // install.ts copies ../scripts and ../examples/templates.json; main.ts --simulate reads
    // examples/; the gRPC server loads proto/ for reflection.
    for (const path of ["client", "scripts", "examples", "proto", "package.json"]) {
      assert.ok(isCopied(path), `${path} is copied`);
    }
  });

  test("holds every module the sidecar and the client load, and no dev dependency", () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const seen = new Set<string>();
    const queue = ["sidecar/main.ts", "client/main.ts"];
    while (queue.length > 0) {
      const file = queue.pop() ?? "";
      if (seen.has(file)) continue;
      seen.add(file);
      assert.ok(isCopied(file), `${file} is loaded at run time but not copied`);
      for (const specifier of runtimeImports(file)) {
        if (specifier.startsWith(".")) {
          queue.push(relative(ROOT, resolve(ROOT, dirname(file), specifier)));
          continue;
        }
        if (specifier.startsWith("node:") || builtinModules.includes(specifier)) continue;
        const name = specifier.startsWith("@")
          ? specifier.split("/").slice(0, 2).join("/")
          : (specifier.split("/")[0] ?? "");
        assert.ok(name in dependencies, `${file} imports ${name}, not a production dependency`);
      }
    }
    assert.ok(seen.has("sidecar/simulator/index.ts"), "follows dynamic imports too");
  });
});
