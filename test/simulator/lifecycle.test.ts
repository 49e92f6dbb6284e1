// Namespaces, collections, binding, dry runs, nodes created through the API, event folding and
// the cluster's flush/settle helpers.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import type { Node, Pod } from "../../sidecar/simulator/index.ts";
import { type Env, podBody, raw, startEnv, waitFor } from "./helpers.ts";

let env: Env | undefined;
afterEach(async () => {
  await env?.sim.close();
  env = undefined;
});

const stored = (name: string, namespace = "default") =>
  env?.sim.store.get("pods", namespace, name) as Pod | undefined;

test("a deleted namespace turns Terminating, refuses new content, is emptied and then removed", async () => {
  env = await startEnv({ podStopDelayMs: 20 });
  await env.core.createNamespace({ body: { metadata: { name: "doomed" } } });
  await env.core.createNamespacedConfigMap({
    namespace: "doomed",
    body: { metadata: { name: "cm" } },
  });
  await env.core.createNamespacedPod({ namespace: "doomed", body: podBody("worker") });
  await waitFor(() => stored("worker", "doomed")?.status?.phase === "Running", "Running");
  const deleted = await env.core.deleteNamespace({ name: "doomed" });
  assert.equal((deleted as { status?: { phase?: string } }).status?.phase, "Terminating");
  await assert.rejects(
    env.core.createNamespacedConfigMap({
      namespace: "doomed",
      body: { metadata: { name: "late" } },
    }),
    (error: { code: number; body: string }) =>
      error.code === 403 && /because it is being terminated/.test(JSON.parse(error.body).message),
  );
  await waitFor(
    () => env?.sim.store.get("namespaces", "", "doomed") === undefined,
    "the namespace to go",
  );
  assert.equal(env.sim.store.count("configmaps", "doomed"), 0);
  assert.equal(env.sim.store.count("pods", "doomed"), 0);
});

test("deletecollection deletes what the selector selects and answers the list of it", async () => {
  env = await startEnv();
  for (const [name, app] of [
    ["a", "x"],
    ["b", "x"],
    ["c", "y"],
  ] as const) {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name, labels: { app } } },
    });
  }
  const response = await raw(
    env.sim,
    "DELETE",
    "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx",
  );
  assert.equal(response.status, 200);
  assert.equal(response.json.kind, "ConfigMapList");
  assert.deepEqual(
    response.json.items.map((item: { metadata: { name: string } }) => item.metadata.name),
    ["a", "b"],
  );
  assert.deepEqual(
    env.sim.store.list("configmaps", "default").map((cm) => cm.metadata.name),
    ["c"],
  );
});

test("pods/binding assigns a pod to a node once; a second binding answers 409", async () => {
  env = await startEnv();
  await env.core.createNamespacedPod({
    namespace: "default",
    body: podBody("bound", { manual: true }),
  });
  const first = await raw(env.sim, "POST", "/api/v1/namespaces/default/pods/bound/binding", {
    metadata: { name: "bound" },
    target: { apiVersion: "v1", kind: "Node", name: "node-2" },
  });
  assert.equal(first.status, 201);
  await waitFor(() => stored("bound")?.status?.phase === "Running", "Running on the chosen node");
  assert.equal(stored("bound")?.spec.nodeName, "node-2");
  const again = await raw(env.sim, "POST", "/api/v1/namespaces/default/pods/bound/binding", {
    metadata: { name: "bound" },
    target: { kind: "Node", name: "node-1" },
  });
  assert.equal(again.status, 409);
});

test("dryRun=All validates and answers without storing", async () => {
  env = await startEnv();
  const response = await raw(env.sim, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
    metadata: { name: "dry" },
  });
  assert.equal(response.status, 201);
  assert.equal(response.json.metadata.name, "dry");
  assert.equal(env.sim.store.get("configmaps", "default", "dry"), undefined);
  const invalid = await raw(env.sim, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
    metadata: { name: "Bad" },
  });
  assert.equal(invalid.status, 422);
});

test("a node created through the API is registered (pod CIDR, Ready status) and takes pods", async () => {
  env = await startEnv({ nodes: [] });
  await env.core.createNamespacedPod({ namespace: "default", body: podBody("waiting") });
  await waitFor(
    () =>
      stored("waiting")?.status?.conditions?.some(
        (c) => c.message === "no nodes available to schedule pods",
      ),
    "Unschedulable",
  );
  await env.core.createNode({ body: { metadata: { name: "joined" } } });
  await waitFor(() => stored("waiting")?.status?.phase === "Running", "Running on the new node");
  const node = env.sim.store.get("nodes", "", "joined") as Node;
  assert.match(node.spec?.podCIDR ?? "", /^10\.\d+\.0\.0\/16$/);
  assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
});

test("a repeated event is folded into one Event with a count", async () => {
  env = await startEnv({ nodes: [{ name: "tiny", cpu: "1" }] });
  await env.core.createNamespacedPod({ namespace: "default", body: podBody("big", { cpu: "2" }) });
  await waitFor(
    () => stored("big")?.status?.conditions?.some((c) => c.reason === "Unschedulable"),
    "Unschedulable",
  );
  // A node that changes and comes back to the same state makes the scheduler retry with the same result.
  env.sim.cluster.cordon("tiny");
  await waitFor(
    () =>
      env?.sim.store
        .list("events", "default")
        .some(
          (event) =>
            event.reason === "FailedScheduling" &&
            (event.message as string).includes("unschedulable"),
        ),
    "second message",
  );
  env.sim.cluster.uncordon("tiny");
  await waitFor(
    () =>
      env?.sim.store
        .list("events", "default")
        .find((event) => event.reason === "FailedScheduling" && event.count === 2),
    "the first message counted twice",
  );
});

test("flush runs pending starts at once; settle waits until pods that can run are Running", async () => {
  env = await startEnv({ podStartDelayMs: 60_000, podStartJitterMs: 0 });
  await env.core.createNamespacedPod({ namespace: "default", body: podBody("flushed") });
  await waitFor(() => stored("flushed")?.status?.startTime, "the kubelet to acknowledge");
  env.sim.cluster.flush();
  assert.equal(stored("flushed")?.status?.phase, "Running");

  const quick = await startEnv({ podStartDelayMs: 50, podStartJitterMs: 0 });
  try {
    for (let i = 0; i < 5; i++)
      await quick.core.createNamespacedPod({ namespace: "default", body: podBody(`settled-${i}`) });
    await quick.sim.cluster.settle();
    const phases = quick.sim.store.list("pods", "default").map((pod) => (pod as Pod).status?.phase);
    assert.deepEqual(phases, Array(5).fill("Running"));
  } finally {
    await quick.sim.close();
  }
});
