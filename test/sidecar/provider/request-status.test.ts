import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodView } from "../../../sidecar/provider/model.ts";
import {
  type CreateContext,
  createRequestStatus,
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
