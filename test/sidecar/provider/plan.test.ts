import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_FAIL_FAST_REASONS } from "../../../sidecar/provider/fast-failure.ts";
import type { PodView, RequestRecord } from "../../../sidecar/provider/model.ts";
import { planReconcile, type World } from "../../../sidecar/provider/plan.ts";
import { createRecord, PREFIX, pod, podsOf, REQ, returnRecord, T0, template } from "./fixtures.ts";

const HOUR = 3_600_000;

function world(records: RequestRecord[], pods: PodView[], overrides: Partial<World> = {}): World {
  return {
    records,
    pod: podsOf(...pods),
    pods: () => pods,
    hasRecord: (id) => records.some((r) => r.requestId === id),
    hasPods: (id) => pods.some((p) => p.requestId === id),
    template: (id) => (id === "small" ? template() : undefined),
    isReturning: () => false,
    isExpected: () => false,
    lastCreateError: () => undefined,
    podNamePrefix: PREFIX,
    namespace: "grid",
    clusterDomain: "cluster.local",
    retentionMs: HOUR,
    defaultPendingTimeoutSeconds: 600,
    failFast: { reasons: new Set(DEFAULT_FAIL_FAST_REASONS), afterMs: 15_000 },
    cannotStartSince: () => undefined,
    preemptor: () => undefined,
    now: T0 + 1_000,
    ...overrides,
  };
}

const podN = (i: number, overrides: Partial<PodView> = {}) =>
  pod({ name: `${PREFIX}-${REQ}-${i}`, uid: `u${i}`, ...overrides });

test("every missing machine of a new request is created, once", () => {
  const plan = planReconcile(world([createRecord({ machineCount: 3 })], [podN(1)]));
  assert.deepEqual(
    plan.create.map((c) => c.index),
    [0, 2],
  );
  const lagging = planReconcile(
    world([createRecord({ machineCount: 3 })], [podN(1)], { isExpected: (n) => n.endsWith("-0") }),
  );
  assert.deepEqual(
    lagging.create.map((c) => c.index),
    [2],
    "an expected pod is not created again",
  );
});

test("a settled request never recreates a machine whose pod went away", () => {
  const plan = planReconcile(world([createRecord({ machineCount: 2, settled: true })], [podN(1)]));
  assert.deepEqual(plan.create, []);
  assert.deepEqual(
    [...(plan.updates[0]?.failures ?? [])],
    [[0, "the pod is gone (deleted or evicted before the request completed)"]],
  );
});

test("a request becomes settled once every machine has a pod or a failure", () => {
  const [update] = planReconcile(
    world(
      [createRecord({ machineCount: 2, failures: { 0: "rejected" } })],
      [podN(1, { phase: "Pending", ready: false })],
    ),
  ).updates;
  assert.equal(update?.settled, true);
  assert.equal(update?.completedAt, undefined, "still running");
});

test("a pod Pending past its template's timeout fails with the scheduler's reason and is deleted", () => {
  const stuck = podN(0, {
    phase: "Pending",
    ready: false,
    reason: "0/3 nodes are available: 3 Insufficient cpu.",
  });
  const plan = planReconcile(
    world([createRecord({ settled: true })], [stuck], { now: T0 + 61_000 }),
  );
  assert.deepEqual(plan.delete, [stuck.name]);
  assert.equal(
    plan.updates[0]?.failures.get(0),
    "Pod stayed Pending for 60s: 0/3 nodes are available: 3 Insufficient cpu.",
  );
  assert.equal(plan.updates[0]?.completedAt, T0 + 61_000, "the request is final with that failure");
  const early = planReconcile(
    world([createRecord({ settled: true })], [stuck], { now: T0 + 59_000 }),
  );
  assert.deepEqual(early.delete, []);
});

test("a pod the kubelet keeps from starting fails once seen so for the policy's time, and is deleted", () => {
  const stuck = podN(0, {
    phase: "Pending",
    ready: false,
    reason: 'ImagePullBackOff: Back-off pulling image "registry.invalid/x:1"',
    waiting: [
      {
        container: "compute",
        init: false,
        reason: "ImagePullBackOff",
        message: 'Back-off pulling image "registry.invalid/x:1"',
      },
    ],
  });
  const records = [createRecord({ settled: true })];
  const first = planReconcile(world(records, [stuck]));
  assert.deepEqual(first.cannotStart, [stuck.name], "first seen: the clock starts");
  assert.deepEqual(first.delete, []);
  assert.deepEqual(first.updates, []);
  const early = planReconcile(
    world(records, [stuck], { cannotStartSince: () => T0 + 1_000, now: T0 + 15_999 }),
  );
  assert.deepEqual(early.cannotStart, [stuck.name]);
  assert.deepEqual(early.delete, []);
  const due = planReconcile(
    world(records, [stuck], { cannotStartSince: () => T0 + 1_000, now: T0 + 16_000 }),
  );
  assert.deepEqual(due.cannotStart, []);
  assert.deepEqual(due.delete, [stuck.name]);
  assert.equal(
    due.updates[0]?.failures.get(0),
    'the pod cannot start: container "compute": ImagePullBackOff: Back-off pulling image "registry.invalid/x:1"',
  );
  assert.equal(due.updates[0]?.completedAt, T0 + 16_000, "the request is final with that failure");
  const atOnce = planReconcile(
    world(records, [stuck], { failFast: { reasons: new Set(["ImagePullBackOff"]), afterMs: 0 } }),
  );
  assert.deepEqual(atOnce.delete, [stuck.name], "0 fails at first sight");
  const off = planReconcile(
    world(records, [stuck], {
      failFast: { reasons: new Set(), afterMs: 0 },
      cannotStartSince: () => T0,
      now: T0 + 59_000,
    }),
  );
  assert.deepEqual(off.delete, [], "an empty list leaves it to the Pending timeout");
  const timedOut = planReconcile(
    world(records, [stuck], { failFast: { reasons: new Set(), afterMs: 0 }, now: T0 + 61_000 }),
  );
  assert.match(
    timedOut.updates[0]?.failures.get(0) ?? "",
    /^Pod stayed Pending for 60s: ImagePullBackOff/,
  );
});

test("a machine that could never be created fails after the timeout with the last API error", () => {
  const plan = planReconcile(
    world([createRecord()], [], {
      now: T0 + 61_000,
      lastCreateError: () => "etcdserver: request timed out",
    }),
  );
  assert.deepEqual(plan.create, []);
  assert.match(
    plan.updates[0]?.failures.get(0) ?? "",
    /could not be created within 60s: etcdserver/,
  );
});

test("failed pods of a live request are recorded and deleted; a vanished template fails what is left", () => {
  const failed = podN(0, { phase: "Failed", reason: "Error (exit code 1)" });
  const plan = planReconcile(world([createRecord({ machineCount: 2 })], [failed]));
  assert.deepEqual(plan.delete, [failed.name]);
  assert.match(plan.updates[0]?.failures.get(0) ?? "", /exit code 1/);
  const orphaned = planReconcile(world([createRecord({ templateId: "gone" })], []));
  assert.match(orphaned.updates[0]?.failures.get(0) ?? "", /template 'gone' no longer exists/);
});

test("a request whose machines all succeeded is marked complete", () => {
  const [update] = planReconcile(
    world([createRecord({ machineCount: 2, settled: true })], [podN(0), podN(1)]),
  ).updates;
  assert.equal(update?.completedAt, T0 + 1_000);
  assert.equal(update?.failures.size, 0);
});

test("a return deletes each of its pods once, and completes when they are gone", () => {
  const record = returnRecord({
    machines: [
      { name: `${PREFIX}-${REQ}-0`, machineId: "u0" },
      { name: `${PREFIX}-${REQ}-1`, machineId: "u1" },
    ],
  });
  const plan = planReconcile(world([record], [podN(0), podN(1, { deletingAt: T0 + 30_000 })]));
  assert.deepEqual(plan.delete, [`${PREFIX}-${REQ}-0`]);
  assert.deepEqual(plan.updates, []);
  const done = planReconcile(world([record], []));
  assert.equal(done.updates[0]?.completedAt, T0 + 1_000);
});

test("a machine being returned is never created, counts as settled, and does not fail", () => {
  const plan = planReconcile(world([createRecord()], [], { isReturning: () => true }));
  assert.deepEqual(plan.create, []);
  assert.equal(plan.updates[0]?.failures.size, 0);
  assert.equal(plan.updates[0]?.settled, true);
  assert.equal(plan.updates[0]?.completedAt, T0 + 1_000, "complete: the machine had succeeded");
});

test("a returned machine's pod is deleted, even one that lands after its return completed", () => {
  const done = returnRecord({ completedAt: T0 });
  assert.deepEqual(planReconcile(world([done], [podN(0)])).delete, [podN(0).name]);
  assert.deepEqual(
    planReconcile(world([done], [podN(0)])).updates,
    [],
    "completion is not sent again",
  );
});

test("completed records are forgotten after retention; a create record only once its pods are gone", () => {
  const old = T0 - 2 * HOUR;
  const ret = returnRecord({ completedAt: old });
  const withPods = createRecord({ completedAt: old, settled: true });
  const other = createRecord({ requestId: "req-0000000000", completedAt: old, settled: true });
  const recent = createRecord({ requestId: "req-1111111111", completedAt: T0 });
  const plan = planReconcile(world([ret, withPods, other, recent], [podN(0)]));
  assert.deepEqual(plan.forget, [ret.requestId, "req-0000000000"]);
});

test("our pods whose request record is gone are orphans; pods being deleted are not", () => {
  const lost = pod({ name: "hf-req-zzzzzzzzzz-0", requestId: "req-zzzzzzzzzz" });
  const leaving = pod({ name: "hf-req-yyyyyyyyyy-0", requestId: "req-yyyyyyyyyy", deletingAt: T0 });
  const plan = planReconcile(world([createRecord({ settled: true })], [podN(0), lost, leaving]));
  assert.deepEqual(plan.orphans, [lost.name]);
});

test("the pod of a failed machine is deleted even when it appears after its request completed", () => {
  const record = createRecord({
    settled: true,
    completedAt: T0,
    failures: { 0: "the pod failed: Error (exit code 1)" },
  });
  assert.deepEqual(planReconcile(world([record], [podN(0)])).delete, [podN(0).name]);
  assert.deepEqual(planReconcile(world([record], [podN(0, { deletingAt: T0 })])).delete, []);
});

test("a Running pod whose readiness blips is not timed out; a Pending one is", () => {
  const late = { now: T0 + 3_600_000 };
  const blip = podN(0, { phase: "Running", ready: false });
  assert.deepEqual(
    planReconcile(world([createRecord({ settled: true })], [blip], late)).delete,
    [],
  );
  const stuck = podN(0, { phase: "Pending", ready: false });
  assert.deepEqual(planReconcile(world([createRecord({ settled: true })], [stuck], late)).delete, [
    stuck.name,
  ]);
});

test("a request whose template was removed still times out its Pending pods", () => {
  const stuck = podN(0, { phase: "Pending", ready: false, reason: "Unschedulable" });
  const record = createRecord({ templateId: "removed", settled: true });
  const plan = planReconcile(world([record], [stuck], { now: T0 + 601_000 }));
  assert.equal(plan.updates[0]?.failures.get(0), "Pod stayed Pending for 600s: Unschedulable");
});

const PREEMPTED = "default-scheduler: preempting to accommodate a higher priority pod";

test("a preempted machine of a running request fails naming its preemptor, once it is known", () => {
  const records = [createRecord({ machineCount: 2 })];
  const pods = [
    podN(0, { preempted: PREEMPTED, deletingAt: T0 + 30_000 }),
    podN(1, { ready: false, phase: "Pending" }),
  ];
  const unknown = planReconcile(world(records, pods));
  assert.deepEqual(unknown.preempted, [`${PREFIX}-${REQ}-0`], "its preemptor is looked up");
  assert.equal(unknown.updates[0]?.failures.size, 0, "no failure before the preemptor is known");
  const known = planReconcile(world(records, pods, { preemptor: () => "batch/risk-eod" }));
  assert.deepEqual([...(known.updates[0]?.failures ?? [])], [[0, "preempted by batch/risk-eod"]]);
  assert.deepEqual(known.preempted, []);
  const unnamed = planReconcile(world(records, pods, { preemptor: () => "" }));
  assert.deepEqual(
    [...(unnamed.updates[0]?.failures ?? [])],
    [[0, `preempted by a higher-priority pod (${PREEMPTED})`]],
  );
});

test("a preempted pod gone before it was judged still fails as preempted, and is not created again", () => {
  const records = [createRecord({ machineCount: 1 })];
  const lastSeen = () => ({ uid: "u0", createdAt: T0, preempted: PREEMPTED });
  const waiting = planReconcile(world(records, [], { lastSeen }));
  assert.deepEqual(waiting.create, [], "a preempted machine is never recreated");
  assert.deepEqual(waiting.preempted, [`${PREFIX}-${REQ}-0`]);
  const known = planReconcile(world(records, [], { lastSeen, preemptor: () => "batch/risk-eod" }));
  assert.deepEqual([...(known.updates[0]?.failures ?? [])], [[0, "preempted by batch/risk-eod"]]);
  assert.equal(known.updates[0]?.completedAt, T0 + 1_000, "the request completes with the failure");
});

test("a preempted pod of a completed request is not judged again", () => {
  const record = createRecord({ completedAt: T0 });
  const plan = planReconcile(world([record], [podN(0, { preempted: PREEMPTED })]));
  assert.deepEqual([plan.preempted, plan.updates], [[], []]);
});
