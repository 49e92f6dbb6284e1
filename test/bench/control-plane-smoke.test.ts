// The benchmark on the real control plane at a tiny size (`--smoke --only control-plane`), so its
// code cannot rot: `npm run bench:smoke` leaves it out, as booting a control plane is not quick.
// It asserts that the figures come out complete, never how fast anything was.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { controlPlaneUnavailable } from "../control-plane/index.ts";
import { runProcess } from "../tools/run-process.ts";

const BENCH = join(import.meta.dirname, "..", "..", "bench", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "hostfactory-bench-smoke-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping the benchmark on the real control plane: ${skip}`);

test("the burst on the control plane gives the provider's rate, the tight loop's and their ratio", {
  skip: skip ?? false,
}, async () => {
  const out = join(dir, "control-plane.json");
  const result = await runProcess(process.execPath, [
    BENCH,
    ...["--smoke", "--only", "control-plane", "--out", out],
  ]);
  assert.equal(result.code, 0, result.stderr);
  const { figures } = JSON.parse(readFileSync(out, "utf8")) as {
    figures: { section: string; name: string; median: number }[];
  };
  const byName = new Map(figures.map((figure) => [figure.name, figure.median]));
  for (const name of [
    "pods created per second by the provider",
    "pods created per second by a tight create loop",
    "provider's rate ÷ the tight loop's",
  ]) {
    assert.ok((byName.get(name) ?? 0) > 0, `${name}: ${byName.get(name)}`);
    assert.ok(result.stdout.includes(`| ${name} `), `${name} is in the table`);
  }
  assert.equal(byName.get("duplicate creates"), 0);
});
