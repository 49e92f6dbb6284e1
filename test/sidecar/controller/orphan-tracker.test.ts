import assert from "node:assert/strict";
import { test } from "node:test";
import { createOrphanTracker } from "../../../sidecar/controller/orphan-tracker.ts";

test("an orphan is found once, then comes due when its grace period has passed", () => {
  const orphans = createOrphanTracker({ graceMs: 5_000 });
  assert.deepEqual(orphans.observe(["hf-a-0"], 1_000), { found: ["hf-a-0"], due: [] });
  assert.deepEqual(orphans.observe(["hf-a-0"], 5_999), { found: [], due: [] });
  assert.deepEqual(orphans.observe(["hf-a-0"], 6_000), { found: [], due: ["hf-a-0"] });
  assert.deepEqual(orphans.observe(["hf-a-0"], 9_000), { found: [], due: ["hf-a-0"] });
  assert.equal(orphans.size, 1);
});

test("an orphan just found is never due, even with no grace period", () => {
  const orphans = createOrphanTracker({ graceMs: 0 });
  assert.deepEqual(orphans.observe(["hf-a-0"], 1_000), { found: ["hf-a-0"], due: [] });
  assert.deepEqual(orphans.observe(["hf-a-0"], 1_000), { found: [], due: ["hf-a-0"] });
});

test("a pod that stops being an orphan is forgotten, and its grace starts over if it is one again", () => {
  const orphans = createOrphanTracker({ graceMs: 5_000 });
  orphans.observe(["hf-a-0", "hf-a-1"], 0);
  assert.deepEqual(orphans.observe(["hf-a-1"], 4_000), { found: [], due: [] });
  assert.equal(orphans.size, 1);
  assert.deepEqual(orphans.observe(["hf-a-0", "hf-a-1"], 5_000), {
    found: ["hf-a-0"],
    due: ["hf-a-1"],
  });
  assert.deepEqual(orphans.observe(["hf-a-0", "hf-a-1"], 9_999), { found: [], due: ["hf-a-1"] });
  assert.deepEqual(orphans.observe(["hf-a-0", "hf-a-1"], 10_000), {
    found: [],
    due: ["hf-a-0", "hf-a-1"],
  });
});

test("orphans come due in the order given, each counted from its own first sighting", () => {
  const orphans = createOrphanTracker({ graceMs: 100 });
  orphans.observe(["c"], 0);
  orphans.observe(["c", "a", "b"], 50);
  assert.deepEqual(orphans.observe(["b", "a", "c"], 120).due, ["c"]);
  assert.deepEqual(orphans.observe(["b", "a", "c"], 150).due, ["b", "a", "c"]);
});

test("clear forgets every orphan, so each is found again", () => {
  const orphans = createOrphanTracker({ graceMs: 100 });
  orphans.observe(["hf-a-0"], 0);
  orphans.clear();
  assert.equal(orphans.size, 0);
  assert.deepEqual(orphans.observe(["hf-a-0"], 500), { found: ["hf-a-0"], due: [] });
});

test("a negative grace period is refused", () => {
  assert.throws(() => createOrphanTracker({ graceMs: -1 }), /orphan grace must not be negative/);
});
