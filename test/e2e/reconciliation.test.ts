// getReturnRequests as HostFactory's reconciliation, and the reconciler's housekeeping: what
// the cluster takes away is reported with the time left; orphan pods are reported and removed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, INSTANCE, startHarness } from "./harness.ts";

type Candidate = { machine: string; gracePeriod: number };
let h: Harness;
let machines: { name: string; machineId: string }[] = [];
let nodeOf: Map<string, string>;

before(async () => {
  h = await startHarness({
    flags: { "watch-nodes": true, "orphan-grace-period": "1" },
    // Containers that ignore SIGTERM, so a graceful deletion takes its whole grace period.
    simulator: { podStartDelayMs: 20, podStartJitterMs: 10, podStopDelayMs: undefined },
  });
  const asked = await h.script("requestMachines", {
    template: { templateId: "compute-small", machineCount: 6 },
  });
  const requestId = String(asked.json?.requestId);
  const final = await waitFor("the machines", async () => {
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    const [request] = (result.json?.requests ?? []) as {
      status: string;
      machines: { name: string; machineId: string }[];
    }[];
    return request?.status === "complete" && request;
  });
  machines = final.machines.map(({ name, machineId }) => ({ name, machineId }));
  nodeOf = new Map(
    machines.map((m) => [
      m.name,
      String(
        (h.simulator.store.get("pods", "default", m.name) as { spec?: { nodeName?: string } })?.spec
          ?.nodeName,
      ),
    ]),
  );
});
after(async () => {
  await h.close();
});

async function candidates(): Promise<Map<string, number>> {
  const result = await h.script("getReturnRequests", { machines });
  assert.equal(result.code, 0, result.stdout);
  return new Map(
    ((result.json?.requests ?? []) as Candidate[]).map((c) => [c.machine, c.gracePeriod]),
  );
}

test("a machine HostFactory already returns is not reported again", async () => {
  const [returned] = machines;
  assert.ok(returned);
  h.simulator.store.delete("pods", "default", returned.name);
  await waitFor(
    "the deleted pod to be reported",
    async () => (await candidates()).get(returned.name) === 0,
  );
  const answer = await h.script("requestReturnMachines", { machines: [returned] });
  assert.equal(answer.code, 0);
  assert.equal((await candidates()).has(returned.name), false);
  machines = machines.slice(1);
});

test("a pod being deleted is reported with the seconds left until its deletion deadline", async () => {
  const [victim] = machines;
  assert.ok(victim);
  h.simulator.cluster.deletePod("default", victim.name, { gracePeriodSeconds: 120 });
  const grace = await waitFor("the deletion to be reported", async () =>
    (await candidates()).get(victim.name),
  );
  assert.ok(grace > 100 && grace <= 120, `gracePeriod ${grace}`);
  machines = machines.slice(1);
});

test("machines on a NotReady node, or on a node the autoscaler removes, are reported", async () => {
  const byNode = new Map<string, string[]>();
  for (const m of machines)
    byNode.set(nodeOf.get(m.name) ?? "", [...(byNode.get(nodeOf.get(m.name) ?? "") ?? []), m.name]);
  const [lostNode, scaledNode] = [...byNode.keys()];
  assert.ok(lostNode && scaledNode, `machines span two nodes: ${JSON.stringify([...byNode])}`);
  h.simulator.cluster.setNodeReady(lostNode, false);
  h.simulator.cluster.taint(scaledNode, {
    key: "ToBeDeletedByClusterAutoscaler",
    value: "1700000000",
    effect: "NoSchedule",
  });
  const reported = await waitFor("the nodes' machines to be reported", async () => {
    const found = await candidates();
    return (
      [...(byNode.get(lostNode) ?? []), ...(byNode.get(scaledNode) ?? [])].every((n) =>
        found.has(n),
      ) && found
    );
  });
  for (const name of byNode.get(lostNode) ?? [])
    assert.equal(reported.get(name), 0, `${name} on NotReady ${lostNode}`);
  for (const name of byNode.get(scaledNode) ?? [])
    assert.equal(reported.get(name), 1, `${name}: its termination grace period`);
});

test("a pod with our labels and no request is reported, then deleted after the orphan grace period", async () => {
  h.simulator.store.put("pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "hf-req-0rphan0000-0",
      namespace: "default",
      labels: {
        "hostfactory-k8s/instance": INSTANCE,
        "hostfactory-k8s/request-id": "req-0rphan0000",
      },
    },
    spec: { containers: [{ name: "c", image: "i" }] },
  });
  await waitFor(
    "the orphan to be deleted",
    () => !h.pods().some((p) => p.name === "hf-req-0rphan0000-0" && !p.deleting),
    { timeoutMs: 15_000 },
  );
  assert.ok(h.sidecar && h.sidecar.reconciler.stats.orphans <= 1);
});

test("a return that arrives before its pod was created completes, and the pod does not survive it", async (t) => {
  const slow = h.simulator.faults.addLatency({
    verbs: ["create"],
    resources: ["pods"],
    delayMs: 1_000,
  });
  let landed = false;
  const unsubscribe = h.simulator.store.subscribe("pods", (event) => {
    if (event.type === "ADDED" && String(event.object.metadata.name).endsWith("-0")) landed = true;
  });
  try {
    const asked = await h.script("requestMachines", {
      template: { templateId: "compute-small", machineCount: 1 },
    });
    const requestId = String(asked.json?.requestId);
    const name = `hf-${requestId}-0`;
    const returned = await h.script("requestReturnMachines", {
      machines: [{ name, machineId: "" }],
    });
    assert.equal(returned.code, 0, returned.stdout);
    const returnId = String(returned.json?.requestId);
    await waitFor("the return to complete and the pod to be gone", async () => {
      const result = await h.script("getRequestStatus", { requests: [{ requestId: returnId }] });
      const [request] = (result.json?.requests ?? []) as { status: string }[];
      return (
        request?.status === "complete" && !h.pods().some((p) => p.name === name && !p.deleting)
      );
    });
    // A create already in flight lands after the return completed: it must not survive.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    t.diagnostic(
      landed ? "the in-flight create landed and was removed" : "the pod was never created",
    );
    await waitFor(
      "no live pod of the returned machine",
      () => !h.pods().some((p) => p.name === name && !p.deleting),
    );
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    const [create] = (result.json?.requests ?? []) as {
      status: string;
      machines: { result: string; message: string }[];
    }[];
    assert.equal(create?.status, "complete", "HostFactory returned it, so it had succeeded");
    assert.equal(create?.machines[0]?.message, "returned");
  } finally {
    slow();
    unsubscribe();
  }
});

test("hosts of another provider: reported gone only once their pod is gone, and never touched", async () => {
  const foreign = (name: string, labels: Record<string, string>) =>
    h.simulator.store.put("pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", labels },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
  // A host the Python k8s-hf provider created, and one of another instance of this provider.
  foreign("k8shf-python-host-1", { app: "symphony-compute" });
  foreign("hf-req-0ther00000-0", { "hostfactory-k8s/instance": "other" });
  const held = [
    { name: "k8shf-python-host-1", machineId: "" },
    { name: "hf-req-0ther00000-0", machineId: "" },
    { name: "oldprefix-req-abcdefghij-3", machineId: "uid-long-gone" },
    { name: "k8shf-python-host-2.compute.default.svc.cluster.local", machineId: "" },
  ];
  const reported = async () => {
    const result = await h.script("getReturnRequests", { machines: held });
    assert.equal(result.code, 0, result.stdout);
    return new Map(
      ((result.json?.requests ?? []) as Candidate[]).map((c) => [c.machine, c.gracePeriod]),
    );
  };
  const first = await reported();
  assert.deepEqual(
    [...first.entries()].sort(),
    [
      ["k8shf-python-host-2.compute.default.svc.cluster.local", 0],
      ["oldprefix-req-abcdefghij-3", 0],
    ],
    "hosts with no pod are gone; live pods that are not ours are not reported",
  );
  h.simulator.store.delete("pods", "default", "k8shf-python-host-1");
  assert.equal((await reported()).get("k8shf-python-host-1"), 0, "reported once its pod ended");
  // HostFactory then returns the host it was told is gone: the return completes at once.
  const returned = await h.script("requestReturnMachines", { machines: [held[0]] });
  assert.equal(returned.code, 0, returned.stdout);
  const returnId = String(returned.json?.requestId);
  await waitFor("the return of a host already gone to complete", async () => {
    const result = await h.script("getRequestStatus", { requests: [{ requestId: returnId }] });
    const [request] = (result.json?.requests ?? []) as { status: string }[];
    return request?.status === "complete";
  });
  // A live pod that is not ours cannot be returned through us.
  const refused = await h.script("requestReturnMachines", { machines: [held[1]] });
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(String(refused.json?.message), /someone else's/);
  const other = h.simulator.store.get("pods", "default", "hf-req-0ther00000-0");
  assert.ok(other && other.metadata.deletionTimestamp === undefined, "never deleted by us");
});
