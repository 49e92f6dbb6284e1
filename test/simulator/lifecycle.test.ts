// Namespaces, collections, binding and dry runs on the simulator and on the real API server;
// then the simulator's own: nodes registered through the API, event folding and the cluster's
// flush/settle helpers.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { Node, Pod } from "../../sidecar/simulator/index.ts";
import { waitFor } from "../tools/wait-for.ts";
import { describeOnBackends } from "./backends.ts";
import {
  CONTROLLER_TIMEOUT_MS,
  type Env,
  found,
  mergePatch,
  POD_RUNNING_TIMEOUT_MS,
  podBody,
  startEnv,
} from "./helpers.ts";

/** A finalizer no controller knows: it holds an object until the test lifts it. */
const HOLD = "example.com/hold";

// Containers that stop on SIGTERM, as KWOK's do: a namespace's pods go without waiting 30 s.
describeOnBackends(
  "namespaces, collections, binding, dry runs",
  { simulator: { podStopDelayMs: 20 } },
  (backend) => {
    test("a deleted namespace turns Terminating, refuses new content, is emptied and then removed", async () => {
      const api = backend();
      const namespace = await api.namespace("doomed");
      // The finalizer holds the namespace in Terminating until the test has seen it refuse.
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "cm", finalizers: [HOLD] } },
      });
      await api.core.createNamespacedPod({ namespace, body: podBody("worker") });
      await waitFor(
        "Running",
        async () =>
          (await api.core.readNamespacedPod({ namespace, name: "worker" })).status?.phase ===
          "Running",
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      const deleted = await api.core.deleteNamespace({ name: namespace });
      assert.equal((deleted as { status?: { phase?: string } }).status?.phase, "Terminating");
      await assert.rejects(
        api.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "late" } } }),
        (error: { code: number; body: string }) =>
          error.code === 403 &&
          /because it is being terminated/.test(JSON.parse(error.body).message),
      );
      await waitFor(
        "the namespace's content deleted",
        async () =>
          (await api.core.readNamespacedConfigMap({ namespace, name: "cm" })).metadata
            ?.deletionTimestamp,
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "cm", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      await waitFor(
        "the namespace to go",
        async () => !(await found(api.core.readNamespace({ name: namespace }))),
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
      assert.equal((await api.core.listNamespacedConfigMap({ namespace })).items.length, 0);
      assert.equal((await api.core.listNamespacedPod({ namespace })).items.length, 0);
    });

    test("deletecollection deletes what the selector selects and answers the list of it", async () => {
      const api = backend();
      const namespace = await api.namespace();
      for (const [name, app] of [
        ["a", "x"],
        ["b", "x"],
        ["c", "y"],
      ] as const) {
        await api.core.createNamespacedConfigMap({
          namespace,
          body: { metadata: { name, labels: { app } } },
        });
      }
      const response = await api.raw(
        "DELETE",
        `/api/v1/namespaces/${namespace}/configmaps?labelSelector=app%3Dx`,
      );
      assert.equal(response.status, 200);
      assert.equal(response.json.kind, "ConfigMapList");
      assert.deepEqual(
        response.json.items.map((item: { metadata: { name: string } }) => item.metadata.name),
        ["a", "b"],
      );
      const left = await api.core.listNamespacedConfigMap({ namespace });
      assert.deepEqual(
        left.items.map((cm) => cm.metadata?.name).filter((name) => name !== "kube-root-ca.crt"),
        ["c"],
      );
    });

    test("pods/binding assigns a pod to a node once; a second binding answers 409", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const [chosen, other] = [
        await api.addNode({ name: `${namespace}-chosen` }),
        await api.addNode({ name: `${namespace}-other` }),
      ];
      await api.core.createNamespacedPod({ namespace, body: podBody("bound", { manual: true }) });
      const binding = `/api/v1/namespaces/${namespace}/pods/bound/binding`;
      const first = await api.raw("POST", binding, {
        metadata: { name: "bound" },
        target: { apiVersion: "v1", kind: "Node", name: chosen },
      });
      assert.equal(first.status, 201, first.text);
      const pod = await waitFor(
        "Running on the chosen node",
        async () => {
          const read = await api.core.readNamespacedPod({ namespace, name: "bound" });
          return read.status?.phase === "Running" && read;
        },
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      assert.equal(pod.spec?.nodeName, chosen);
      const again = await api.raw("POST", binding, {
        metadata: { name: "bound" },
        target: { kind: "Node", name: other },
      });
      assert.equal(again.status, 409);
      assert.equal(again.json.reason, "Conflict");
    });

    test("dryRun=All validates and answers without storing", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const path = `/api/v1/namespaces/${namespace}/configmaps?dryRun=All`;
      const response = await api.raw("POST", path, { metadata: { name: "dry" } });
      assert.equal(response.status, 201);
      assert.equal(response.json.metadata.name, "dry");
      assert.equal(
        await found(api.core.readNamespacedConfigMap({ namespace, name: "dry" })),
        undefined,
      );
      const invalid = await api.raw("POST", path, { metadata: { name: "Bad" } });
      assert.equal(invalid.status, 422);
    });
  },
);

// The simulator's own: its node IPAM and kubelets (a real node needs a kubelet to turn Ready),
// its event folding and its flush/settle helpers.
describe("simulator only: nodes, events and timing helpers", () => {
  let env: Env | undefined;
  afterEach(async () => {
    await env?.sim.close();
    env = undefined;
  });

  const stored = (name: string, namespace = "default") =>
    env?.sim.store.get("pods", namespace, name) as Pod | undefined;

  test("a node created through the API is registered (pod CIDR, Ready status) and takes pods", async () => {
    env = await startEnv({ nodes: [] });
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("waiting") });
    await waitFor("Unschedulable", () =>
      stored("waiting")?.status?.conditions?.some(
        (c) => c.message === "no nodes available to schedule pods",
      ),
    );
    await env.core.createNode({ body: { metadata: { name: "joined" } } });
    await waitFor("Running on the new node", () => stored("waiting")?.status?.phase === "Running");
    const node = env.sim.store.get("nodes", "", "joined") as Node;
    assert.match(node.spec?.podCIDR ?? "", /^10\.\d+\.0\.0\/16$/);
    assert.equal(node.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  test("a repeated event is folded into one Event with a count", async () => {
    env = await startEnv({ nodes: [{ name: "tiny", cpu: "1" }] });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: podBody("big", { cpu: "2" }),
    });
    await waitFor("Unschedulable", () =>
      stored("big")?.status?.conditions?.some((c) => c.reason === "Unschedulable"),
    );
    // A node that changes and comes back to the same state makes the scheduler retry with the same result.
    env.sim.cluster.cordon("tiny");
    await waitFor("second message", () =>
      env?.sim.store
        .list("events", "default")
        .some(
          (event) =>
            event.reason === "FailedScheduling" &&
            (event.message as string).includes("unschedulable"),
        ),
    );
    env.sim.cluster.uncordon("tiny");
    await waitFor("the first message counted twice", () =>
      env?.sim.store
        .list("events", "default")
        .find((event) => event.reason === "FailedScheduling" && event.count === 2),
    );
  });

  test("flush runs pending starts at once; settle waits until pods that can run are Running", async () => {
    env = await startEnv({ podStartDelayMs: 60_000, podStartJitterMs: 0 });
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("flushed") });
    await waitFor("the kubelet to acknowledge", () => stored("flushed")?.status?.startTime);
    env.sim.cluster.flush();
    assert.equal(stored("flushed")?.status?.phase, "Running");

    const quick = await startEnv({ podStartDelayMs: 50, podStartJitterMs: 0 });
    try {
      for (let i = 0; i < 5; i++)
        await quick.core.createNamespacedPod({
          namespace: "default",
          body: podBody(`settled-${i}`),
        });
      await quick.sim.cluster.settle();
      const phases = quick.sim.store
        .list("pods", "default")
        .map((pod) => (pod as Pod).status?.phase);
      assert.deepEqual(phases, Array(5).fill("Running"));
    } finally {
      await quick.sim.close();
    }
  });
});
