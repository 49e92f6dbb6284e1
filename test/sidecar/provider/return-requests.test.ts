import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodView } from "../../../sidecar/provider/model.ts";
import { returnCandidates } from "../../../sidecar/provider/return-requests.ts";
import { PREFIX, pod, podsOf, REQ, T0 } from "./fixtures.ts";

const name = `${PREFIX}-${REQ}-0`;

function answer(
  current: PodView | undefined,
  options: { machineId?: string; returning?: boolean } = {},
) {
  return returnCandidates([{ name, machineId: options.machineId ?? "uid-0" }], {
    podNamePrefix: PREFIX,
    pod: podsOf(...(current ? [current] : [])),
    node: () => undefined,
    isReturning: () => options.returning ?? false,
    existsElsewhere: () => false,
    now: T0,
  });
}

test("machines the cluster took or is taking are reported with the time they have left", () => {
  const cases: [string, PodView | undefined, number | undefined, RegExp?][] = [
    ["healthy", pod(), undefined],
    ["pod gone", undefined, 0, /no longer exists/],
    ["pod failed", pod({ phase: "Failed", reason: "OOMKilled" }), 0, /stopped: OOMKilled/],
    ["pod exited", pod({ phase: "Succeeded" }), 0, /stopped/],
    ["being deleted", pod({ deletingAt: T0 + 29_500 }), 30, /being deleted/],
    ["deletion overdue", pod({ deletingAt: T0 - 5_000 }), 0, /being deleted/],
    [
      "preempted, being deleted",
      pod({ preempted: "default-scheduler: preempting", disrupted: true, deletingAt: T0 + 9_200 }),
      10,
      /preempted/,
    ],
    [
      "preempted, not yet deleted",
      pod({ preempted: "default-scheduler: preempting", disrupted: true, gracePeriodSeconds: 45 }),
      45,
      /preempted: default-scheduler/,
    ],
    [
      "evicted",
      pod({ disrupted: true, reason: "node is draining" }),
      0,
      /disrupted: node is draining/,
    ],
  ];
  for (const [label, current, grace, reason] of cases) {
    const [found] = answer(current);
    assert.equal(found?.gracePeriod, grace, label);
    if (reason) assert.match(found?.reason ?? "", reason, label);
  }
});

test("a pod replaced under the same name means the machine HostFactory holds is gone", () => {
  assert.equal(answer(pod({ uid: "other" }))[0]?.gracePeriod, 0);
});

test("machines already being returned are not reported", () => {
  assert.deepEqual(answer(undefined, { returning: true }), []);
});

test("a host with no pod is gone whatever its name; a live pod that is not ours is never reported", () => {
  const held = [
    { name: "python-hf-1", machineId: "" },
    { name: "old-prefix-req-abcdefghij-0.svc.example", machineId: "x" },
    { name: "Not_A_Pod_Name", machineId: "" },
    { name: "python-hf-2", machineId: "" },
  ];
  const context = (existsElsewhere: (name: string) => boolean | undefined) => ({
    podNamePrefix: PREFIX,
    pod: podsOf(),
    node: () => undefined,
    isReturning: () => false,
    existsElsewhere,
    now: T0,
  });
  const reported = returnCandidates(
    held,
    context((n) => n === "python-hf-2"),
  );
  assert.deepEqual(
    reported.map((c) => [c.machine, c.gracePeriod]),
    [
      ["python-hf-1", 0],
      ["old-prefix-req-abcdefghij-0.svc.example", 0],
      ["Not_A_Pod_Name", 0],
    ],
  );
  // When the other pods cannot be listed, only names we give are answered from our cache.
  const unknown = returnCandidates(
    [...held, { name, machineId: "" }],
    context(() => undefined),
  );
  assert.deepEqual(
    unknown.map((c) => c.machine),
    [name],
  );
});

test("with nodes watched, machines on a NotReady node or a node being removed are reported", () => {
  const nodes = {
    lost: { name: "lost", ready: false, leaving: "", cordoned: false },
    scaling: {
      name: "scaling",
      ready: true,
      leaving: "the cluster autoscaler is removing the node",
      cordoned: false,
    },
    fine: { name: "fine", ready: true, leaving: "", cordoned: false },
  };
  const context = (current: PodView) => ({
    podNamePrefix: PREFIX,
    pod: podsOf(current),
    node: (n: string) => nodes[n as keyof typeof nodes],
    isReturning: () => false,
    existsElsewhere: () => false,
    now: T0,
  });
  const on = (nodeName: string) => pod({ nodeName, gracePeriodSeconds: 45 });
  const machine = [{ name, machineId: "uid-0" }];
  assert.deepEqual(returnCandidates(machine, context(on("lost")))[0], {
    machine: name,
    machineId: "uid-0",
    gracePeriod: 0,
    reason: "its node lost is NotReady",
  });
  const evictedFromLost = pod({ nodeName: "lost", deletingAt: T0 + 30_000, disrupted: true });
  assert.deepEqual(
    returnCandidates(machine, context(evictedFromLost))[0]?.gracePeriod,
    0,
    "a pod evicted from a NotReady node has no time left: nothing can stop it gracefully",
  );
  const removing = returnCandidates(machine, context(on("scaling")))[0];
  assert.equal(removing?.gracePeriod, 45, "a drain gives the pod its termination grace period");
  assert.match(removing?.reason ?? "", /autoscaler is removing the node \(scaling\)/);
  assert.deepEqual(returnCandidates(machine, context(on("fine"))), []);
});

test("a cooperative host on a cordoned node is reported with its grace period; an immediate one is not", () => {
  const nodes = {
    draining: { name: "draining", ready: true, leaving: "", cordoned: true },
    fine: { name: "fine", ready: true, leaving: "", cordoned: false },
  };
  const context = (current: PodView) => ({
    podNamePrefix: PREFIX,
    pod: podsOf(current),
    node: (n: string) => nodes[n as keyof typeof nodes],
    isReturning: () => false,
    existsElsewhere: () => false,
    now: T0,
  });
  const machine = [{ name, machineId: "uid-0" }];
  const cooperative = (nodeName: string) =>
    pod({ nodeName, gracePeriodSeconds: 45, cooperative: true });
  assert.deepEqual(returnCandidates(machine, context(cooperative("draining"))), [
    {
      machine: name,
      machineId: "uid-0",
      gracePeriod: 45,
      reason:
        "its node draining is cordoned (being drained); the drain waits for the host's return",
    },
  ]);
  assert.deepEqual(returnCandidates(machine, context(cooperative("fine"))), []);
  assert.deepEqual(
    returnCandidates(machine, context(pod({ nodeName: "draining", gracePeriodSeconds: 45 }))),
    [],
    "an immediate host is reported once the drain evicts it, as before",
  );
});
