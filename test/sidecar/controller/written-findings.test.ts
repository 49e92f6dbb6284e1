import assert from "node:assert/strict";
import { test } from "node:test";
import { createWrittenFindings } from "../../../sidecar/controller/written-findings.ts";
import type { RequestRecord } from "../../../sidecar/provider/model.ts";
import { createRecord, REQ, returnRecord, T0 } from "../provider/fixtures.ts";

const RET = "ret-abcdefghij";
const lookup =
  (...records: RequestRecord[]) =>
  (requestId: string) =>
    records.find((r) => r.requestId === requestId);

test("a record with nothing written passes through unchanged", () => {
  const written = createWrittenFindings();
  const record = createRecord();
  assert.deepEqual([...written.overlay([record])], [record]);
  assert.equal([...written.overlay([record])][0], record, "the same object, not a copy");
});

test("written failures, settling and completion are laid over the cached record", () => {
  const written = createWrittenFindings();
  written.note(REQ, { failures: new Map([[1, "timed out"]]), settled: true, completedAt: T0 + 5 });
  const [seen] = written.overlay([createRecord({ machineCount: 2, failures: { 0: "refused" } })]);
  assert.deepEqual(seen?.failures, { 0: "refused", 1: "timed out" });
  assert.equal(seen?.completedAt, T0 + 5);
  assert.equal(seen?.kind === "create" && seen.settled, true);
});

test("what the cache shows wins over what was written", () => {
  const written = createWrittenFindings();
  written.note(REQ, { failures: new Map([[0, "written reason"]]), completedAt: T0 + 5 });
  const cached = createRecord({ failures: { 0: "cached reason" }, completedAt: T0 + 1 });
  const [seen] = written.overlay([cached]);
  assert.deepEqual(seen?.failures, { 0: "cached reason" });
  assert.equal(seen?.completedAt, T0 + 1);
});

test("a return record gets failures and completion, and no settled flag", () => {
  const written = createWrittenFindings();
  written.note(RET, { failures: new Map([[0, "could not be deleted"]]), settled: true });
  const [seen] = written.overlay([returnRecord()]);
  assert.deepEqual(seen?.failures, { 0: "could not be deleted" });
  assert.equal("settled" in (seen ?? {}), false);
});

test("note says which failures are new, and completes a request once", () => {
  const written = createWrittenFindings();
  const first = written.note(REQ, { failures: new Map([[0, "a"]]) });
  assert.deepEqual([...first.fresh], [[0, "a"]]);
  assert.equal(first.completed, false);
  const second = written.note(REQ, {
    failures: new Map([
      [0, "a again"],
      [1, "b"],
    ]),
    completedAt: T0,
  });
  assert.deepEqual([...second.fresh], [[1, "b"]], "machine 0 was already written");
  assert.equal(second.completed, true);
  const third = written.note(REQ, { failures: new Map(), completedAt: T0 + 1 });
  assert.equal(third.completed, false, "already completed");
  const [seen] = written.overlay([createRecord({ machineCount: 2 })]);
  assert.deepEqual(seen?.failures, { 0: "a", 1: "b" }, "the first reason written stays");
  assert.equal(seen?.completedAt, T0, "the first completion written stays");
});

test("failedCount counts each machine failed in the record or in what was written, once", () => {
  const written = createWrittenFindings();
  const record = createRecord({ machineCount: 4, failures: { 0: "x", 1: "y" } });
  assert.equal(written.failedCount(record), 2);
  written.note(REQ, {
    failures: new Map([
      [1, "y"],
      [3, "z"],
    ]),
  });
  assert.equal(written.failedCount(record), 3);
});

test("findings are kept until the cache shows all of them, then forgotten", () => {
  const written = createWrittenFindings();
  written.note(REQ, {
    failures: new Map([
      [0, "a"],
      [1, "b"],
    ]),
    settled: true,
    completedAt: T0,
  });
  const partly = createRecord({ machineCount: 2, failures: { 0: "a" }, settled: true });
  written.prune(lookup({ ...partly, completedAt: T0 }));
  assert.equal(written.size, 1, "machine 1's failure is not shown yet");
  written.prune(lookup({ ...partly, failures: { 0: "a", 1: "b" } }));
  assert.equal(written.size, 1, "the completion is not shown yet");
  written.prune(
    lookup({ ...partly, failures: { 0: "a", 1: "b" }, settled: false, completedAt: T0 }),
  );
  assert.equal(written.size, 1, "settling is not shown yet");
  written.prune(lookup({ ...partly, failures: { 0: "a", 1: "b" }, completedAt: T0 }));
  assert.equal(written.size, 0);
  const [seen] = written.overlay([createRecord()]);
  assert.deepEqual(seen?.failures, {}, "nothing laid over once forgotten");
});

test("findings of a record that is gone are forgotten", () => {
  const written = createWrittenFindings();
  written.note(REQ, { failures: new Map([[0, "a"]]) });
  written.note(RET, { failures: new Map(), completedAt: T0 });
  written.prune(lookup(returnRecord()));
  assert.equal(written.size, 1, "the return request's record is still there");
  written.clear();
  assert.equal(written.size, 0);
});
