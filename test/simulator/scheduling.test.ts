// The scheduler, the kubelet and the node controllers as a client sees them, on the simulator
// and on the real control plane (kube-scheduler, kube-controller-manager, KWOK nodes). Every test
// brings nodes of its own, labelled with its namespace, and pods that select them: the other
// nodes of the cluster only ever add "didn't match Pod's node affinity/selector" to a message.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { waitFor } from "../tools/wait-for.ts";
import { type Backend, DEDICATED_TAINT, DEDICATED_TOLERATION } from "./backend.ts";
import { describeOnBackends } from "./backends.ts";
import {
  CONTROLLER_TIMEOUT_MS,
  found,
  mergePatch,
  POD_RUNNING_TIMEOUT_MS,
  podBody,
} from "./helpers.ts";

const POOL_LABEL = "conformance.hostfactory-k8s.io/pool";
const HOLD = "example.com/hold";
const NOT_MATCHING = "node(s) didn't match Pod's node affinity/selector";

/** Nodes the current test added; removed after it, so that no cordon or taint outlives it. */
const added: string[] = [];

/** A namespace, and `count` nodes of `cpu` cpus that only its pods select. */
async function pool(api: Backend, count: number, cpu = "2") {
  const namespace = await api.namespace("sched");
  const nodes: string[] = [];
  for (let index = 0; index < count; index++) {
    nodes.push(
      await addNode(api, {
        name: `${namespace}-${index}`,
        cpu,
        memory: "8Gi",
        pods: 10,
        labels: { [POOL_LABEL]: namespace },
      }),
    );
  }
  return { namespace, nodes };
}

async function addNode(api: Backend, spec: Parameters<Backend["addNode"]>[0]) {
  const name = await api.addNode(spec);
  added.push(name);
  return name;
}

/** A pod that only the namespace's pool can take. */
function pooled(namespace: string, name: string, extra: Parameters<typeof podBody>[1] = {}) {
  const body = podBody(name, extra);
  return {
    ...body,
    spec: {
      ...body.spec,
      nodeSelector: { [POOL_LABEL]: namespace },
      tolerations: [DEDICATED_TOLERATION],
    },
  } as V1Pod;
}

const read = (core: CoreV1Api, namespace: string, name: string) =>
  core.readNamespacedPod({ namespace, name });
const condition = (pod: V1Pod | undefined, type: string) =>
  pod?.status?.conditions?.find((c) => c.type === type);
const running = (core: CoreV1Api, namespace: string, name: string) =>
  waitFor(
    `${name} Running`,
    async () => (await read(core, namespace, name)).status?.phase === "Running",
    { timeoutMs: POD_RUNNING_TIMEOUT_MS },
  );
const unschedulable = (core: CoreV1Api, namespace: string, name: string) =>
  waitFor(
    `${name} Unschedulable`,
    async () => {
      const scheduled = condition(await read(core, namespace, name), "PodScheduled");
      return scheduled?.status === "False" && scheduled;
    },
    { timeoutMs: CONTROLLER_TIMEOUT_MS },
  );

const NOT_HELPFUL = "Preemption is not helpful for scheduling";
const NO_VICTIMS = "No preemption victims found for incoming pod";

/** "2 Insufficient cpu, 1 node(s) were unschedulable" → {"Insufficient cpu": 2, …}. */
function counts(text: string): Record<string, number> {
  const entries = text.split(", ");
  assert.deepEqual([...entries].sort(), entries, "sorted as the scheduler sorts them");
  const result: Record<string, number> = {};
  for (const entry of entries) {
    const [, count, reason] = /^(\d+) (.*)$/.exec(entry) ?? [];
    result[reason as string] = Number(count);
  }
  return result;
}

/** Reasons the filters that run before NodeAffinity give, which other suites' nodes may show. */
const FOREIGN_REASONS = new Set([
  NOT_MATCHING,
  "node(s) had untolerated taint(s)",
  "node(s) were unschedulable",
]);

interface Verdict {
  reasons: Record<string, number>;
  preemption: Record<string, number>;
}

/**
 * Checks the scheduler's message ("0/N nodes are available: …. preemption: 0/N nodes are
 * available: ….") against what the test's own nodes should say: each part counts every node
 * once, in the scheduler's sort order, and the nodes of the cluster that are not the test's
 * (the pod selects none of them) account for the rest. Those are the simulator's three, all
 * "didn't match"; on the shared real control plane they are other suites' nodes, which these
 * suites may have cordoned or tainted meanwhile, so there any filter before NodeAffinity may
 * have turned them away.
 */
function assertVerdict(
  message: string | undefined,
  ours: number,
  expected: Verdict,
  exact: boolean,
) {
  const match =
    /^0\/(\d+) nodes are available: (.*)\. preemption: 0\/(\d+) nodes are available: (.*)\.$/.exec(
      message ?? "",
    );
  assert.ok(match, `a scheduler message with its preemption verdict: ${message}`);
  const [, total, reasonText, preemptionTotal, preemptionText] = match as unknown as string[];
  assert.equal(preemptionTotal, total);
  const reasons = counts(reasonText as string);
  const preemption = counts(preemptionText as string);
  for (const histogram of [reasons, preemption]) {
    const sum = Object.values(histogram).reduce((a, b) => a + b, 0);
    assert.equal(sum, Number(total), `every node counted once: ${message}`);
  }
  const foreign = Number(total) - ours;
  const expectedReasons = { ...expected.reasons };
  const expectedPreemption = { ...expected.preemption };
  if (exact) {
    if (foreign > 0) expectedReasons[NOT_MATCHING] = foreign;
    if (foreign > 0)
      expectedPreemption[NOT_HELPFUL] = (expectedPreemption[NOT_HELPFUL] ?? 0) + foreign;
    assert.deepEqual(
      { reasons, preemption },
      { reasons: expectedReasons, preemption: expectedPreemption },
      message,
    );
    return;
  }
  let extra = 0;
  for (const [reason, count] of Object.entries(reasons)) {
    const surplus = count - (expectedReasons[reason] ?? 0);
    assert.ok(
      surplus >= 0,
      `${reason}: ${count}, expected at least ${expectedReasons[reason]}: ${message}`,
    );
    if (surplus > 0) assert.ok(FOREIGN_REASONS.has(reason), `an unexpected reason: ${message}`);
    extra += surplus;
  }
  assert.equal(extra, foreign, `the other nodes account for the rest: ${message}`);
  assert.equal(preemption[NO_VICTIMS] ?? 0, expectedPreemption[NO_VICTIMS] ?? 0, message);
  assert.equal(
    preemption[NOT_HELPFUL] ?? 0,
    (expectedPreemption[NOT_HELPFUL] ?? 0) + foreign,
    message,
  );
}

describeOnBackends("scheduling and node lifecycle", {}, (backend) => {
  afterEach(async () => {
    for (const name of added.splice(0)) {
      await found(backend().core.deleteNode({ name }));
    }
  });

  test("a pod is bound, then Running and Ready with a pod IP, a host IP and a start time", async () => {
    const api = backend();
    const { namespace, nodes } = await pool(api, 1);
    await api.core.createNamespacedPod({ namespace, body: pooled(namespace, "runner") });
    await running(api.core, namespace, "runner");
    const pod = await read(api.core, namespace, "runner");
    assert.equal(pod.spec?.nodeName, nodes[0]);
    assert.match(pod.status?.podIP ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    // A kubelet reports its node's address as hostIP; the test control plane's KWOK nodes have
    // no InternalIP (their status addresses do not survive registration), so KWOK reports none.
    if (api.sim) assert.match(pod.status?.hostIP ?? "", /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(pod.status?.startTime);
    for (const type of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
      assert.equal(condition(pod, type)?.status, "True", type);
    }
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    assert.ok(pod.status?.containerStatuses?.[0]?.state?.running);
  });

  test("scheduling is recorded as a Scheduled Event; only the simulator's kubelet records Started (known difference)", async () => {
    const api = backend();
    const { namespace, nodes } = await pool(api, 1);
    await api.core.createNamespacedPod({ namespace, body: pooled(namespace, "noted") });
    await running(api.core, namespace, "noted");
    const reasons = async () =>
      (
        await api.core.listNamespacedEvent({
          namespace,
          fieldSelector: "involvedObject.name=noted",
        })
      ).items
        .map((event) => event.reason)
        .sort();
    const seen = await waitFor(
      "the Scheduled Event",
      async () => {
        const found = await reasons();
        return found.includes("Scheduled") && found;
      },
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    assert.deepEqual(seen, api.sim ? ["Scheduled", "Started"] : ["Scheduled"]);
    const scheduled = (
      await api.core.listNamespacedEvent({ namespace, fieldSelector: "reason=Scheduled" })
    ).items[0];
    assert.equal(scheduled?.message, `Successfully assigned ${namespace}/noted to ${nodes[0]}`);
  });

  test("a pod that fits nowhere stays Pending with PodScheduled=False, reason Unschedulable, and preemption cannot help", async () => {
    const api = backend();
    const { namespace } = await pool(api, 2);
    await api.core.createNamespacedPod({
      namespace,
      body: pooled(namespace, "huge", { cpu: "4" }),
    });
    const scheduled = await unschedulable(api.core, namespace, "huge");
    assert.equal(scheduled.reason, "Unschedulable");
    assertVerdict(
      scheduled.message,
      2,
      { reasons: { "Insufficient cpu": 2 }, preemption: { [NOT_HELPFUL]: 2 } },
      Boolean(api.sim),
    );
    assert.equal((await read(api.core, namespace, "huge")).status?.phase, "Pending");
  });

  test("the message counts every reason across nodes: cordoned, tainted, too small", async () => {
    const api = backend();
    const { namespace, nodes } = await pool(api, 3);
    const [cordoned, tainted] = nodes as [string, string];
    await api.core.patchNode(
      { name: cordoned, body: { spec: { unschedulable: true } } },
      mergePatch,
    );
    await api.core.patchNode(
      {
        name: tainted,
        body: {
          spec: {
            taints: [DEDICATED_TAINT, { key: "dedicated", value: "gpu", effect: "NoSchedule" }],
          },
        },
      },
      mergePatch,
    );
    await api.core.createNamespacedPod({
      namespace,
      body: pooled(namespace, "picky", { cpu: "3" }),
    });
    const scheduled = await unschedulable(api.core, namespace, "picky");
    assertVerdict(
      scheduled.message,
      3,
      {
        reasons: {
          "Insufficient cpu": 1,
          "node(s) had untolerated taint(s)": 1,
          "node(s) were unschedulable": 1,
        },
        preemption: { [NOT_HELPFUL]: 3 },
      },
      Boolean(api.sim),
    );
  });

  test("a pending pod is scheduled when a matching node joins", async () => {
    const api = backend();
    const namespace = await api.namespace("sched");
    await api.core.createNamespacedPod({ namespace, body: pooled(namespace, "selective") });
    const scheduled = await unschedulable(api.core, namespace, "selective");
    assertVerdict(scheduled.message, 0, { reasons: {}, preemption: {} }, Boolean(api.sim));
    const joined = await addNode(api, {
      name: `${namespace}-joined`,
      labels: { [POOL_LABEL]: namespace },
    });
    await running(api.core, namespace, "selective");
    assert.equal((await read(api.core, namespace, "selective")).spec?.nodeName, joined);
  });

  test("a pending pod is scheduled once capacity is freed", async () => {
    const api = backend();
    const { namespace } = await pool(api, 1);
    await api.core.createNamespacedPod({
      namespace,
      body: pooled(namespace, "first", { cpu: "2" }),
    });
    await running(api.core, namespace, "first");
    await api.core.createNamespacedPod({
      namespace,
      body: pooled(namespace, "second", { cpu: "2" }),
    });
    const waiting = await unschedulable(api.core, namespace, "second");
    // Room taken by a pod of the same priority: preemption could help, but finds no victim.
    assertVerdict(
      waiting.message,
      1,
      { reasons: { "Insufficient cpu": 1 }, preemption: { [NO_VICTIMS]: 1 } },
      Boolean(api.sim),
    );
    await api.core.deleteNamespacedPod({ namespace, name: "first", gracePeriodSeconds: 0 });
    await running(api.core, namespace, "second");
  });

  test("a failing container with restartPolicy Never turns the pod Failed, with its exit code and reason", async () => {
    const api = backend();
    const { namespace } = await pool(api, 1);
    const body = pooled(namespace, "crash");
    await api.core.createNamespacedPod({
      namespace,
      body: {
        ...body,
        spec: { ...body.spec, containers: body.spec?.containers ?? [], restartPolicy: "Never" },
      },
    });
    await running(api.core, namespace, "crash");
    await api.failPod(namespace, "crash", "OOMKilled");
    const pod = await waitFor(
      "Failed",
      async () => {
        const current = await read(api.core, namespace, "crash");
        return current.status?.phase === "Failed" && current;
      },
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 1);
    assert.equal(terminated?.reason, "OOMKilled");
    assert.equal(condition(pod, "Ready")?.status, "False");
  });

  test("a NoExecute taint evicts pods that do not tolerate it (DisruptionTarget DeletionByTaintManager)", async () => {
    const api = backend();
    const { namespace, nodes } = await pool(api, 1);
    const body = pooled(namespace, "tainted");
    // The finalizer keeps the evicted pod readable however fast its kubelet lets it go.
    await api.core.createNamespacedPod({
      namespace,
      body: { ...body, metadata: { ...body.metadata, finalizers: [HOLD] } },
    });
    await running(api.core, namespace, "tainted");
    await api.core.patchNode(
      {
        name: nodes[0] as string,
        body: { spec: { taints: [DEDICATED_TAINT, { key: "maintenance", effect: "NoExecute" }] } },
      },
      mergePatch,
    );
    const evicted = await waitFor(
      "eviction",
      async () => {
        const pod = await read(api.core, namespace, "tainted");
        return pod.metadata?.deletionTimestamp && pod;
      },
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    assert.equal(condition(evicted, "DisruptionTarget")?.reason, "DeletionByTaintManager");
    await api.core.patchNamespacedPod(
      { namespace, name: "tainted", body: { metadata: { finalizers: null } } },
      mergePatch,
    );
  });

  test("a node that stops reporting: unreachable taints, its pods not Ready, evicted after their toleration, left Terminating", async () => {
    const api = backend();
    const { namespace, nodes } = await pool(api, 1);
    const node = nodes[0] as string;
    const body = pooled(namespace, "stranded");
    await api.core.createNamespacedPod({
      namespace,
      body: {
        ...body,
        spec: {
          ...body.spec,
          containers: body.spec?.containers ?? [],
          tolerations: [
            ...(body.spec?.tolerations ?? []),
            ...["unreachable", "not-ready"].map((reason) => ({
              key: `node.kubernetes.io/${reason}`,
              operator: "Exists",
              effect: "NoExecute",
              tolerationSeconds: 1,
            })),
          ],
        },
      },
    });
    await running(api.core, namespace, "stranded");
    await api.stopHeartbeat(node);
    await waitFor(
      "the pod not Ready",
      async () =>
        condition(await read(api.core, namespace, "stranded"), "Ready")?.status === "False",
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    const taints = await waitFor(
      "the unreachable taints",
      async () => {
        const conditions = ((await api.core.readNode({ name: node })).spec?.taints ?? []).filter(
          (taint) => taint.key.startsWith("node.kubernetes.io/"),
        );
        return conditions.length >= 2 && conditions;
      },
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    assert.deepEqual(taints.map((taint) => `${taint.key}:${taint.effect}`).sort(), [
      "node.kubernetes.io/unreachable:NoExecute",
      "node.kubernetes.io/unreachable:NoSchedule",
    ]);
    await waitFor(
      "eviction after tolerationSeconds",
      async () => (await read(api.core, namespace, "stranded")).metadata?.deletionTimestamp,
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    assert.ok(
      await found(read(api.core, namespace, "stranded")),
      "no kubelet confirms the deletion",
    );
  });
});
