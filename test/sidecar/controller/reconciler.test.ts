// The reconciler against a fake pod writer on a mocked clock: retry timing, expectations with a
// lagging watch, fairness between requests, orphans, and what a pass plans. No API server.
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { pino } from "pino";
import {
  createReconciler,
  MAX_OUTSTANDING_CALLS,
  type Reconciler,
  type ReconcilerSettings,
} from "../../../sidecar/controller/reconciler.ts";
import { KubeApiError } from "../../../sidecar/kube/api-errors.ts";
import { DEFAULT_FAIL_FAST_REASONS } from "../../../sidecar/provider/fast-failure.ts";
import type { PodView } from "../../../sidecar/provider/model.ts";
import { parsePodName } from "../../../sidecar/provider/naming.ts";
import {
  createRecord,
  PREFIX,
  pod,
  REQ,
  returnRecord,
  T0,
  template,
} from "../provider/fixtures.ts";
import { callsByPod, createFakeCluster, type FakeCluster } from "./_fake-cluster.ts";

const SETTINGS = {
  instance: "test",
  podNamePrefix: PREFIX,
  namespace: "default",
  clusterDomain: "cluster.local",
  retentionMs: 86_400_000,
  defaultPendingTimeoutSeconds: 600,
  failFast: { reasons: new Set(DEFAULT_FAIL_FAST_REASONS), afterMs: 15_000 },
  orphanPolicy: "delete" as const,
  orphanGraceMs: 5_000,
};
const MINUTE_MS = 60_000;
const WEBHOOK_DOWN =
  'Internal error occurred: failed calling webhook "pods.policy.example.com": connection refused';

function startReconciler(
  t: TestContext,
  cluster: FakeCluster,
  settings: Partial<ReconcilerSettings> = {},
): Reconciler {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
  const reconciler = createReconciler(
    { ...SETTINGS, ...settings },
    cluster.state,
    cluster.templates,
    cluster.writer,
    cluster.recordStore,
    pino({ level: "silent" }),
  );
  reconciler.start();
  t.after(() => reconciler.stop());
  return reconciler;
}

/** Moves the mocked clock on by `ms`, letting the promises each step settles run. */
async function advance(t: TestContext, ms: number, stepMs = 50): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    t.mock.timers.tick(Math.min(stepMs, ms - passed));
    for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

function callsIn(cluster: FakeCluster, verb: "create" | "delete", from: number, to: number) {
  return cluster.calls.filter((c) => c.verb === verb && c.at >= from && c.at < to).length;
}

const machineName = (index: number, requestId = REQ) => `${PREFIX}-${requestId}-${index}`;

/** Whether the create request's record shows every machine accounted for. */
function isSettled(cluster: FakeCluster, requestId = REQ): boolean {
  const record = cluster.records.get(requestId);
  return record?.kind === "create" && record.settled;
}

test("a create the API server keeps failing backs off to a few calls a minute, and the machine fails at its Pending timeout with the server's message", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 600 })]);
  cluster.createAnswer = () => new KubeApiError("transient", WEBHOOK_DOWN, { status: 500 });
  cluster.records.set(createRecord({ machineCount: 3 }));
  startReconciler(t, cluster);

  await advance(t, 10 * MINUTE_MS);
  const firstMinute = callsIn(cluster, "create", T0, T0 + MINUTE_MS);
  t.diagnostic(`create calls in the first minute: ${firstMinute}`);
  assert.ok(firstMinute <= 3 * 20, `${firstMinute} create calls in the first minute`);
  for (let minute = 1; minute < 10; minute++) {
    const from = T0 + minute * MINUTE_MS;
    const calls = callsIn(cluster, "create", from, from + MINUTE_MS);
    assert.ok(calls >= 3 && calls <= 3 * 3, `${calls} create calls in minute ${minute + 1}`);
  }
  // The delay between one machine's tries grows until it reaches the cap (30 s, less jitter).
  const tries = cluster.calls.filter((c) => c.pod === machineName(0)).map((c) => c.at);
  const gaps = tries.slice(1).map((at, i) => at - (tries[i] as number));
  for (let i = 1; i < gaps.length && (gaps[i - 1] as number) < 20_000; i++) {
    assert.ok((gaps[i] as number) >= (gaps[i - 1] as number), `gaps ${gaps.join(", ")}`);
  }
  assert.ok(
    gaps.slice(-5).every((gap) => gap >= 24_000 && gap <= 31_000),
    gaps.join(", "),
  );

  await advance(t, 2_000);
  const record = cluster.records.get(REQ);
  for (const index of [0, 1, 2]) {
    assert.match(
      record?.failures[index] ?? "",
      /could not be created within 600s: Internal error occurred: failed calling webhook/,
    );
  }
  assert.notEqual(record?.completedAt, undefined);
  const callsAtEnd = cluster.calls.length;
  await advance(t, MINUTE_MS);
  assert.equal(cluster.calls.length, callsAtEnd, "a failed machine is not tried again");
});

test("once the fault clears, a backed-off machine is created within the longest delay", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 600 })]);
  let healthy = false;
  cluster.createAnswer = () =>
    healthy ? undefined : new KubeApiError("transient", WEBHOOK_DOWN, { status: 500 });
  cluster.records.set(createRecord({ machineCount: 2 }));
  startReconciler(t, cluster);
  await advance(t, 2 * MINUTE_MS);
  healthy = true;
  await advance(t, 31_000);
  assert.equal(cluster.pods.get(machineName(0))?.requestId, REQ);
  assert.equal(cluster.pods.get(machineName(1))?.requestId, REQ);
  // A mocked tick stamps the calls it fires with its end: one at exactly the 2-minute mark was
  // made in the last tick before the fault cleared, and failed.
  const successes = cluster.calls.filter((c) => c.at > T0 + 2 * MINUTE_MS);
  assert.equal(successes.length, 2, "one successful create per machine, no more");
});

test("a returned machine's pod gets one delete call, however long the watch takes to show it", async (t) => {
  const cluster = createFakeCluster([template()]);
  const names = [0, 1, 2].map((i) => machineName(i));
  cluster.records.set(createRecord({ machineCount: 3, settled: true, completedAt: T0 }));
  for (const name of names) cluster.pods.set(pod({ name, uid: `uid-${name}` }));
  cluster.watchLags = true;
  cluster.records.set(returnRecord({ machines: names.map((name) => ({ name, machineId: "" })) }));
  startReconciler(t, cluster);

  await advance(t, 10_000);
  assert.deepEqual([...callsByPod(cluster.calls, "delete").values()], [1, 1, 1]);
  cluster.watchLags = false;
  cluster.catchUp();
  await advance(t, 2_000);
  assert.notEqual(cluster.records.get("ret-abcdefghij")?.completedAt, undefined);
  assert.equal(cluster.calls.length, 3);
});

test("a delete the API server keeps failing backs off to a few calls a minute, then succeeds once", async (t) => {
  const cluster = createFakeCluster([template()]);
  const name = machineName(0);
  cluster.records.set(createRecord({ settled: true, completedAt: T0 }));
  cluster.pods.set(pod({ name, uid: "uid-0" }));
  let healthy = false;
  cluster.deleteAnswer = () =>
    healthy ? undefined : new KubeApiError("transient", "etcdserver: request timed out", {});
  cluster.records.set(returnRecord());
  startReconciler(t, cluster);

  await advance(t, 5 * MINUTE_MS);
  for (let minute = 1; minute < 5; minute++) {
    const from = T0 + minute * MINUTE_MS;
    const calls = callsIn(cluster, "delete", from, from + MINUTE_MS);
    assert.ok(calls >= 1 && calls <= 3, `${calls} delete calls in minute ${minute + 1}`);
  }
  healthy = true;
  const before = cluster.calls.length;
  await advance(t, 31_000);
  assert.equal(cluster.pods.get(name), undefined);
  assert.equal(cluster.calls.length - before, 1);
  assert.notEqual(cluster.records.get("ret-abcdefghij")?.completedAt, undefined);
});

test("requests get their creates in the order they were accepted, whatever the cache's order", async (t) => {
  const cluster = createFakeCluster([template({ maxNumber: 1_000 })]);
  // Ids sort the other way round from acceptance, and the later request is cached first.
  const earlier = "req-zzzzzzzzzz";
  const later = "req-aaaaaaaaaa";
  cluster.records.set(createRecord({ requestId: later, machineCount: 100, createdAt: T0 + 1 }));
  cluster.records.set(createRecord({ requestId: earlier, machineCount: 150, createdAt: T0 }));
  startReconciler(t, cluster);

  await advance(t, 3_000);
  const order = cluster.calls.map((c) => parsePodName(PREFIX, c.pod)?.requestId);
  assert.deepEqual(order, [
    ...Array.from({ length: 150 }, () => earlier),
    ...Array.from({ length: 100 }, () => later),
  ]);
});

test("a pass after a cache change plans only the requests the change touched", async (t) => {
  const cluster = createFakeCluster([template()]);
  const ids = Array.from({ length: 20 }, (_, i) => `req-${String(i).padStart(10, "0")}`);
  for (const requestId of ids) {
    cluster.records.set(createRecord({ requestId }));
    cluster.pods.set(
      pod({ name: machineName(0, requestId), requestId, phase: "Pending", ready: false }),
    );
  }
  startReconciler(t, cluster);
  await advance(t, 1_010);
  cluster.templateLookups = 0;
  const touched = cluster.pods.get(machineName(0, ids[7]));
  cluster.pods.set({ ...(touched as NonNullable<typeof touched>), reason: "pulling image" });
  await advance(t, 100);
  assert.equal(cluster.templateLookups, 1, "one request planned");
  await advance(t, 1_000);
  assert.ok(cluster.templateLookups >= 21, "the tick still plans every request");
});

test("a pod that shows a listed waiting reason for 15 s without a break fails and is deleted; a break starts the clock again", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 600 })]);
  const name = machineName(0);
  const pulling: PodView = pod({ name, phase: "Pending", ready: false, podIP: "" });
  const backOff = (reason: string): PodView => ({
    ...pulling,
    reason,
    waiting: [
      { container: "c", init: false, reason, message: 'pulling image "registry.invalid/x"' },
    ],
  });
  cluster.records.set(createRecord({ settled: true }));
  cluster.pods.set(backOff("ErrImagePull"));
  startReconciler(t, cluster);
  await advance(t, 5_000);
  cluster.pods.set(backOff("ImagePullBackOff"));
  await advance(t, 5_000);
  cluster.pods.set(pulling);
  await advance(t, 1_000);
  cluster.pods.set(backOff("ErrImagePull"));
  await advance(t, 14_000);
  assert.equal(cluster.records.get(REQ)?.failures[0], undefined, "the break started it anew");
  assert.equal(cluster.calls.length, 0);
  await advance(t, 2_000);
  assert.match(
    cluster.records.get(REQ)?.failures[0] ?? "",
    /^the pod cannot start: container "c": ErrImagePull: pulling image/,
  );
  assert.deepEqual(
    cluster.calls.map((c) => [c.verb, c.pod]),
    [["delete", name]],
  );
});

test("an orphan pod is reported, then deleted once after its grace period", async (t) => {
  const cluster = createFakeCluster([template()]);
  const orphan = machineName(0, "req-orphan0001");
  cluster.pods.set(pod({ name: orphan, requestId: "req-orphan0001" }));
  const reconciler = startReconciler(t, cluster);
  await advance(t, 4_000);
  assert.equal(reconciler.stats.orphans, 1);
  assert.equal(cluster.calls.length, 0, "not deleted within its grace period");
  cluster.watchLags = true;
  await advance(t, 8_000);
  assert.deepEqual(
    cluster.calls.map((c) => [c.verb, c.pod]),
    [["delete", orphan]],
  );
});

test("while many calls are outstanding, a stream of cache events does not make a pass each", async (t) => {
  const cluster = createFakeCluster([template({ maxNumber: 1_000 })]);
  // Creates that are never answered, as when the rate limiter holds a long queue.
  cluster.writer.create = () => new Promise(() => {});
  cluster.records.set(createRecord({ machineCount: 200 }));
  const other = "req-bbbbbbbbbb";
  cluster.records.set(createRecord({ requestId: other, settled: true }));
  cluster.pods.set(pod({ name: machineName(0, other), requestId: other, phase: "Pending" }));
  const reconciler = startReconciler(t, cluster);
  await advance(t, 100);
  const passes = reconciler.stats.passes;
  // A hundred events a second for a second, each touching a request.
  for (let i = 0; i < 100; i++) {
    const current = cluster.pods.get(machineName(0, other));
    cluster.pods.set({ ...(current as NonNullable<typeof current>), reason: `event ${i}` });
    await advance(t, 10, 10);
  }
  const during = reconciler.stats.passes - passes;
  t.diagnostic(`passes in one second of events at the cap: ${during}`);
  assert.ok(during <= 6, `${during} passes`);
});

test("a pod gets one create call, however long the watch takes to show it", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 600 })]);
  cluster.watchLags = true;
  cluster.records.set(createRecord({ machineCount: 3 }));
  startReconciler(t, cluster);
  await advance(t, 10_000);
  assert.deepEqual([...callsByPod(cluster.calls, "create").values()], [1, 1, 1]);
  cluster.watchLags = false;
  cluster.catchUp();
  await advance(t, 2_000);
  assert.equal(isSettled(cluster), true);
  assert.deepEqual(cluster.records.get(REQ)?.failures, {});
  assert.equal(cluster.calls.length, 3);
});

test("a create answered AlreadyExists counts as made: no retry, and the machine does not fail", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 600 })]);
  const name = machineName(0);
  // An earlier leader created the pod; its answer was lost, and this replica's watch lags.
  cluster.createAnswer = () =>
    new KubeApiError("already-exists", `pods "${name}" already exists`, { status: 409 });
  cluster.watchLags = true;
  cluster.records.set(createRecord());
  startReconciler(t, cluster);
  await advance(t, 10_000);
  assert.equal(cluster.calls.length, 1, "the expectation holds: no second call");
  cluster.pods.set(pod({ name, phase: "Pending", ready: false }));
  await advance(t, 2_000);
  assert.equal(isSettled(cluster), true);
  assert.deepEqual(cluster.records.get(REQ)?.failures, {});
  assert.equal(cluster.calls.length, 1);
});

test("creates that hang hold at most the cap of calls outstanding; the rest go out as answers come", async (t) => {
  const cluster = createFakeCluster([template({ maxNumber: 1_000 })]);
  const create = cluster.writer.create.bind(cluster.writer);
  const answers: (() => void)[] = [];
  let made = 0;
  cluster.writer.create = (body, signal) => {
    made++;
    return new Promise((resolve, reject) => {
      answers.push(() => create(body, signal).then(resolve, reject));
    });
  };
  cluster.records.set(createRecord({ machineCount: 100 }));
  startReconciler(t, cluster);
  await advance(t, 5_000);
  assert.equal(made, MAX_OUTSTANDING_CALLS);
  for (const answer of answers.splice(0, 10)) answer();
  await advance(t, 2_000);
  assert.equal(made, MAX_OUTSTANDING_CALLS + 10);
  while (answers.length > 0) {
    for (const answer of answers.splice(0)) answer();
    await advance(t, 2_000);
  }
  assert.equal(made, 100, "one create per machine");
  assert.equal(isSettled(cluster), true);
});

test("under the report policy an orphan pod is reported and never deleted", async (t) => {
  const cluster = createFakeCluster([template()]);
  cluster.pods.set(pod({ name: machineName(0, "req-orphan0001"), requestId: "req-orphan0001" }));
  const reconciler = startReconciler(t, cluster, { orphanPolicy: "report" });
  await advance(t, 4 * SETTINGS.orphanGraceMs);
  assert.equal(reconciler.stats.orphans, 1);
  assert.equal(cluster.calls.length, 0);
  cluster.pods.remove(machineName(0, "req-orphan0001"));
  await advance(t, 2_000);
  assert.equal(reconciler.stats.orphans, 0, "a pod that is gone is no longer an orphan");
});

test("a pass before the record cache shows a write does not contradict it", async (t) => {
  const cluster = createFakeCluster([template({ pendingTimeoutSeconds: 5 })]);
  const patch = cluster.recordStore.patch.bind(cluster.recordStore);
  const writes: { requestId: string; failures: [number, string][] }[] = [];
  const held: (() => Promise<void>)[] = [];
  // The API server takes every write; the record watch delivers none until told to.
  cluster.recordStore.patch = async (requestId, findings) => {
    writes.push({ requestId, failures: [...(findings.failures ?? [])] });
    held.push(() => patch(requestId, findings));
  };
  const name = machineName(0);
  cluster.records.set(createRecord({ settled: true }));
  cluster.pods.set(pod({ name, phase: "Pending", ready: false, reason: "Unschedulable" }));
  startReconciler(t, cluster);
  await advance(t, 8_000);
  assert.equal(cluster.pods.get(name), undefined, "the timed-out pod was deleted");
  const failuresWritten = writes.flatMap((w) => w.failures);
  assert.deepEqual(failuresWritten, [[0, "Pod stayed Pending for 5s: Unschedulable"]]);
  for (const write of held.splice(0)) await write();
  await advance(t, 2_000);
  assert.deepEqual(cluster.records.get(REQ)?.failures, {
    0: "Pod stayed Pending for 5s: Unschedulable",
  });
  assert.notEqual(cluster.records.get(REQ)?.completedAt, undefined);
});
