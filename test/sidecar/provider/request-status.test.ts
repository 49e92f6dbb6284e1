import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodView } from "../../../sidecar/provider/model.ts";
import {
  type CreateContext,
  createRequestStatus,
  finalAnswerOf,
  returnRequestStatus,
  unknownRequestStatus,
} from "../../../sidecar/provider/request-status.ts";
import { createRecord, PREFIX, pod, podsOf, REQ, returnRecord, T0, template } from "./fixtures.ts";

function context(pods: PodView[], overrides: Partial<CreateContext> = {}): CreateContext {
  return {
    podNamePrefix: PREFIX,
    namespace: "grid",
    clusterDomain: "cluster.local",
    template: template(),
    pod: podsOf(...pods),
    isReturning: () => false,
    ...overrides,
  };
}

test("a create request's machine follows its pod", () => {
  const unschedulable = "0/3 nodes are available: 3 Insufficient cpu.";
  const cases: [
    string,
    PodView | undefined,
    Partial<Parameters<typeof createRecord>[0]>,
    string,
    string,
    RegExp,
  ][] = [
    ["not created yet", undefined, {}, "executing", "pending", /waiting for its pod to be created/],
    [
      "pending unschedulable",
      pod({ phase: "Pending", ready: false, podIP: "", reason: unschedulable }),
      {},
      "executing",
      "pending",
      /Insufficient cpu/,
    ],
    ["running, not ready", pod({ ready: false }), {}, "executing", "pending", /^$/],
    ["running and ready", pod(), {}, "succeed", "running", /^$/],
    [
      "failed",
      pod({ phase: "Failed", ready: false, reason: "Error (exit code 3)" }),
      {},
      "fail",
      "terminated",
      /the pod failed: Error \(exit code 3\)/,
    ],
    [
      "exited",
      pod({ phase: "Succeeded", ready: false }),
      {},
      "fail",
      "terminated",
      /the pod exited/,
    ],
    [
      "deleted while pending",
      pod({ phase: "Pending", ready: false, deletingAt: T0 + 30_000 }),
      {},
      "fail",
      "shutting-down",
      /deleted before it was running/,
    ],
    ["gone after settling", undefined, { settled: true }, "fail", "terminated", /the pod is gone/],
    [
      "failure recorded",
      undefined,
      { failures: { 0: "quota exceeded" } },
      "fail",
      "terminated",
      /quota exceeded/,
    ],
    [
      "gone after completion",
      undefined,
      { settled: true, completedAt: T0 },
      "succeed",
      "terminated",
      /^$/,
    ],
  ];
  for (const [name, current, record, result, status, message] of cases) {
    const answer = createRequestStatus(createRecord(record), context(current ? [current] : []));
    const [machine] = answer.machines;
    assert.equal(machine?.result, result, name);
    assert.equal(machine?.status, status, name);
    assert.match(machine?.message ?? "", message, name);
  }
});

test("machine fields carry the pod's identity, address and launch time in seconds", () => {
  const [machine] = createRequestStatus(
    createRecord(),
    context([pod({ createdAt: T0 + 1_500 })]),
  ).machines;
  assert.deepEqual(machine, {
    machineId: "uid-0",
    name: `${PREFIX}-${REQ}-0`,
    result: "succeed",
    status: "running",
    privateIpAddress: "10.0.0.1",
    launchtime: T0 / 1000 + 1,
    message: "",
  });
});

test("a template may give HostFactory the pod's FQDN in its headless Service", () => {
  const fqdn = template({ subdomain: "hosts", hostnameStyle: "fqdn" });
  const [machine] = createRequestStatus(
    createRecord(),
    context([pod()], { template: fqdn }),
  ).machines;
  assert.equal(machine?.name, `${PREFIX}-${REQ}-0.hosts.grid.svc.cluster.local`);
});

test("request status: running while any machine executes, then complete or complete_with_error", () => {
  const two = createRecord({ machineCount: 2 });
  const ready = (i: number) => pod({ name: `${PREFIX}-${REQ}-${i}`, uid: `u${i}` });
  const pending = pod({ name: `${PREFIX}-${REQ}-1`, phase: "Pending", ready: false });
  assert.equal(createRequestStatus(two, context([ready(0), pending])).status, "running");
  assert.equal(createRequestStatus(two, context([ready(0), ready(1)])).status, "complete");
  const failed = createRequestStatus(
    { ...two, failures: { 1: "quota exceeded" } },
    context([ready(0)]),
  );
  assert.equal(failed.status, "complete_with_error");
  assert.match(failed.message, /1 of 2 machines failed: quota exceeded/);
});

test("a machine HostFactory returned counts as succeeded in its create request", () => {
  const [gone] = createRequestStatus(
    createRecord(),
    context([], { isReturning: () => true }),
  ).machines;
  assert.deepEqual(
    [gone?.result, gone?.status, gone?.message],
    ["succeed", "terminated", "returned"],
  );
  const leaving = pod({ deletingAt: T0 + 30_000 });
  const [going] = createRequestStatus(
    createRecord(),
    context([leaving], { isReturning: () => true }),
  ).machines;
  assert.deepEqual([going?.result, going?.status], ["succeed", "shutting-down"]);
});

test("a return request succeeds per machine once its pod is gone", () => {
  const record = returnRecord({
    machines: [
      { name: `${PREFIX}-${REQ}-0`, machineId: "uid-0" },
      { name: `${PREFIX}-${REQ}-1.hosts.grid.svc.cluster.local`, machineId: "uid-1" },
    ],
  });
  const deleting = pod({ name: `${PREFIX}-${REQ}-1`, uid: "uid-1", deletingAt: T0 + 30_000 });
  const running = returnRequestStatus(record, podsOf(deleting));
  assert.equal(running.status, "running");
  assert.deepEqual(
    running.machines.map((m) => [m.result, m.status]),
    [
      ["succeed", "terminated"],
      ["executing", "shutting-down"],
    ],
  );
  assert.equal(running.machines[1]?.name, `${PREFIX}-${REQ}-1.hosts.grid.svc.cluster.local`);
  assert.equal(returnRequestStatus(record, podsOf()).status, "complete");
});

test("an unknown request id answers complete_with_error with a message", () => {
  const answer = unknownRequestStatus("req-nonexisten");
  assert.equal(answer.status, "complete_with_error");
  assert.match(answer.message, /req-nonexisten.*not known/);
  assert.deepEqual(answer.machines, []);
});

test("a Ready pod being deleted has succeeded; it is shutting down", () => {
  const [machine] = createRequestStatus(
    createRecord(),
    context([pod({ deletingAt: T0 + 30_000 })]),
  ).machines;
  assert.deepEqual([machine?.result, machine?.status], ["succeed", "shutting-down"]);
});

test("a preempted machine waits for the reconciler to record its preemptor, then fails with it", () => {
  const preempted = "default-scheduler: preempting to accommodate a higher priority pod";
  for (const [label, pods, lastSeen] of [
    ["being deleted", [pod({ preempted, deletingAt: T0 + 30_000 })], undefined],
    ["gone", [], () => ({ uid: "uid-0", createdAt: T0, preempted })],
  ] as const) {
    const status = createRequestStatus(createRecord(), context([...pods], { lastSeen }));
    assert.equal(status.status, "running", label);
    assert.deepEqual(
      [status.machines[0]?.result, status.machines[0]?.message],
      ["executing", `being preempted: ${preempted}`],
      label,
    );
  }
  const recorded = createRequestStatus(
    createRecord({ failures: { 0: "preempted by batch/risk-eod" } }),
    context([pod({ preempted, deletingAt: T0 + 30_000 })]),
  );
  assert.deepEqual(
    [recorded.status, recorded.machines[0]?.result, recorded.machines[0]?.message],
    ["complete_with_error", "fail", "preempted by batch/risk-eod"],
  );
});

test("a machine whose pod was never created has no machineId and no launchtime", () => {
  const [machine] = createRequestStatus(createRecord(), context([])).machines;
  assert.deepEqual([machine?.machineId, machine?.launchtime], ["", 0]);
});

test("a machine keeps its machineId and launchtime after its pod is gone", () => {
  const lastSeen = () => ({ uid: "uid-0", createdAt: T0 + 2_000 });
  const [failed] = createRequestStatus(
    createRecord({ failures: { 0: "the pod failed: OOMKilled" } }),
    context([], { lastSeen }),
  ).machines;
  assert.deepEqual(
    [failed?.result, failed?.machineId, failed?.launchtime],
    ["fail", "uid-0", T0 / 1000 + 2],
  );
});

test("a stored final answer is the answer, whatever the pods show since", () => {
  const two = createRecord({ machineCount: 2 });
  const ready = (i: number) => pod({ name: `${PREFIX}-${REQ}-${i}`, uid: `u${i}` });
  const complete = createRequestStatus(two, context([ready(0), ready(1)]));
  const final = finalAnswerOf(complete, T0);
  assert.deepEqual(final, { status: "complete", at: T0, failed: [], machineIds: ["u0", "u1"] });
  // Machine 1's pod fails and is deleted, the reconciler records it: the answer stays complete.
  const later = createRequestStatus(
    { ...two, final, failures: { 1: "the pod is gone" }, settled: true },
    context([ready(0)]),
  );
  assert.equal(later.status, "complete");
  assert.deepEqual(
    later.machines.map((m) => [m.result, m.machineId]),
    [
      ["succeed", "u0"],
      ["succeed", "u1"],
    ],
  );
  // A final answer with a failure keeps that machine failed even when its pod looks fine.
  const failedFinal = {
    status: "complete_with_error" as const,
    at: T0,
    failed: [0],
    machineIds: ["u0", "u1"],
  };
  const withError = createRequestStatus(
    { ...two, final: failedFinal, failures: { 0: "Pod stayed Pending for 60s" } },
    context([ready(0), ready(1)]),
  );
  assert.equal(withError.status, "complete_with_error");
  assert.equal(withError.machines[0]?.message, "Pod stayed Pending for 60s");
  const returned = returnRequestStatus(
    returnRecord({ final: { status: "complete", at: T0, failed: [], machineIds: [] } }),
    podsOf(pod()),
  );
  assert.equal(returned.status, "complete", "a final return stays final");
});
