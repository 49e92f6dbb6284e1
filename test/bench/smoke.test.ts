// `npm run bench:smoke`: every benchmark at a tiny size, so the benchmark code cannot rot. It
// asserts that the table and the JSON file come out complete, never how fast anything was.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runProcess } from "../tools/run-process.ts";

const BENCH = join(import.meta.dirname, "..", "..", "bench", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "hostfactory-bench-smoke-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  return runProcess(process.execPath, [BENCH, ...args]);
}

test("the smoke benchmark prints every figure in one table and writes the same numbers as JSON", async () => {
  const out = join(dir, "smoke.json");
  const result = await run(["--smoke", "--out", out]);
  assert.equal(result.code, 0, result.stderr);

  const results = JSON.parse(readFileSync(out, "utf8")) as {
    machine: { cores: number };
    figures: { section: string; name: string; median: number; values: number[] }[];
  };
  assert.ok(results.machine.cores > 0);
  const sections = new Set(results.figures.map((figure) => figure.section));
  for (const prefix of [
    "script round trip",
    "burst",
    "relist",
    "footprint",
    "polling",
    "gRPC",
    "watch",
    "controller",
  ]) {
    assert.ok(
      [...sections].some((section) => section.startsWith(prefix)),
      `a ${prefix} figure`,
    );
  }
  for (const figure of results.figures) {
    assert.equal(figure.values.length, 1, figure.name);
    assert.ok(Number.isFinite(figure.median), `${figure.section}: ${figure.name} is a number`);
    assert.ok(result.stdout.includes(`| ${figure.name} `), `${figure.name} is in the table`);
  }
});
