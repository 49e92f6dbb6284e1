// The simulator's own scheduler, kubelets and node controllers, driven through its cluster
// controls (sim.cluster) and read from its store: start delays, exit codes, restarts, node removal
// and seeded placements. What a client of any cluster can observe of scheduling and node
// lifecycle is measured against the real control plane in scheduling.test.ts.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { Pod } from "../../sidecar/simulator/index.ts";
import { waitFor } from "../tools/wait-for.ts";
import { type Env, podBody, startEnv } from "./helpers.ts";

let env: Env | undefined;
afterEach(async () => {
  await env?.sim.close();
  env = undefined;
});

const small = (count: number, cpu = "2") =>
  Array.from({ length: count }, (_, index) => ({
    name: `node-${index + 1}`,
    cpu,
    memory: "8Gi",
    pods: 10,
  }));

const stored = (name: string, namespace = "default") =>
  env?.sim.store.get("pods", namespace, name) as Pod | undefined;
const condition = (pod: Pod | undefined, type: string) =>
  pod?.status?.conditions?.find((c) => c.type === type);
const running = (name: string) => () => stored(name)?.status?.phase === "Running";

describe("simulator only: scheduler and kubelet", () => {
  test("a pod is bound, then Running and Ready with a pod IP and host IP after the start delay", async () => {
    env = await startEnv({ podStartDelayMs: 150, podStartJitterMs: 0 });
    const created = Date.now();
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("runner") });
    await waitFor("binding", () => stored("runner")?.spec.nodeName);
    assert.equal(stored("runner")?.status?.phase, "Pending");
    await waitFor("Running", running("runner"));
    assert.ok(Date.now() - created >= 140, "not before the start delay");
    const pod = await env.core.readNamespacedPod({ namespace: "default", name: "runner" });
    assert.match(pod.status?.podIP ?? "", /^10\.\d+\.\d+\.\d+$/);
    assert.match(pod.status?.hostIP ?? "", /^172\.18\.\d+\.\d+$/);
    assert.ok(pod.status?.startTime);
    for (const type of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
      assert.equal(pod.status?.conditions?.find((c) => c.type === type)?.status, "True", type);
    }
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    assert.ok(pod.status?.containerStatuses?.[0]?.state?.running);
  });

  test("a pending pod is scheduled when a node is uncordoned", async () => {
    env = await startEnv({ nodes: small(1) });
    env.sim.cluster.cordon("node-1");
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("waiting") });
    await waitFor(
      "Unschedulable",
      () =>
        condition(stored("waiting"), "PodScheduled")?.message ===
        "0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    env.sim.cluster.uncordon("node-1");
    await waitFor("Running after uncordon", running("waiting"));
  });

  test("scheduling and starting are recorded as core/v1 Events", async () => {
    env = await startEnv({ nodes: small(1) });
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("noted") });
    await waitFor("Running", running("noted"));
    const events = await env.core.listNamespacedEvent({
      namespace: "default",
      fieldSelector: "involvedObject.name=noted",
    });
    const reasons = events.items.map((event) => event.reason).sort();
    assert.deepEqual(reasons, ["Scheduled", "Started"]);
  });

  test("a pod bound by nodeName to a node without room is rejected by the kubelet (OutOfcpu)", async () => {
    env = await startEnv({ nodes: small(1) });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: podBody("hog", { cpu: "2" }),
    });
    await waitFor("Running", running("hog"));
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "forced" },
        spec: {
          nodeName: "node-1",
          containers: [{ name: "c", image: "i:1", resources: { requests: { cpu: "1" } } }],
        },
      },
    });
    await waitFor("rejection", () => stored("forced")?.status?.phase === "Failed");
    assert.equal(stored("forced")?.status?.reason, "OutOfcpu");
    assert.match(
      stored("forced")?.status?.message ?? "",
      /^Pod was rejected: Node didn't have enough resource: cpu/,
    );
  });
});

describe("simulator only: deletion and failures", () => {
  test("graceful deletion ends after the grace period when containers ignore SIGTERM (exit 137)", async () => {
    env = await startEnv();
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("slow") });
    await waitFor("Running", running("slow"));
    const deleted = Date.now();
    const observed: string[] = [];
    env.sim.store.subscribe("pods", (event) => {
      const pod = event.object as Pod;
      if (pod.metadata.name === "slow") {
        observed.push(
          `${event.type} ${pod.status?.phase} ${pod.status?.containerStatuses?.[0]?.state.terminated?.exitCode ?? ""}`,
        );
      }
    });
    await env.core.deleteNamespacedPod({
      namespace: "default",
      name: "slow",
      gracePeriodSeconds: 1,
    });
    await waitFor("removal", () => stored("slow") === undefined, { timeoutMs: 3000 });
    assert.ok(Date.now() - deleted >= 950, "not before the grace period");
    assert.deepEqual(observed, ["MODIFIED Running ", "MODIFIED Failed 137", "DELETED Failed 137"]);
  });

  test("with podStopDelayMs, containers exit 0 on SIGTERM before the grace period runs out", async () => {
    env = await startEnv({ podStopDelayMs: 50 });
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("quick") });
    await waitFor("Running", running("quick"));
    const observed: string[] = [];
    env.sim.store.subscribe("pods", (event) => {
      const pod = event.object as Pod;
      if (pod.metadata.name === "quick") {
        observed.push(
          `${event.type} ${pod.status?.phase} ${pod.status?.containerStatuses?.[0]?.state.terminated?.exitCode ?? ""}`,
        );
      }
    });
    await env.core.deleteNamespacedPod({ namespace: "default", name: "quick" });
    // The 20 s wait only stops a hung test; the exit code tells SIGTERM (0) from the grace
    // period's SIGKILL (137).
    await waitFor("removal", () => stored("quick") === undefined, { timeoutMs: 20_000 });
    assert.deepEqual(observed.slice(-2), ["MODIFIED Succeeded 0", "DELETED Succeeded 0"]);
  });

  test("failPod with restartPolicy Never turns the pod Failed with the exit code", async () => {
    env = await startEnv();
    await env.core.createNamespacedPod({
      namespace: "default",
      body: { ...podBody("crash"), spec: { ...podBody("x").spec, restartPolicy: "Never" } },
    });
    await waitFor("Running", running("crash"));
    env.sim.cluster.failPod("default", "crash", { exitCode: 3, reason: "Error", message: "boom" });
    const pod = await env.core.readNamespacedPod({ namespace: "default", name: "crash" });
    assert.equal(pod.status?.phase, "Failed");
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 3);
    assert.equal(terminated?.message, "boom");
    assert.equal(pod.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
  });

  test("failPod with restartPolicy Always restarts the container (restartCount, then Running again)", async () => {
    env = await startEnv();
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("flaky") });
    await waitFor("Running", running("flaky"));
    env.sim.cluster.failPod("default", "flaky");
    const crashed = stored("flaky")?.status?.containerStatuses?.[0];
    assert.equal(crashed?.state.waiting?.reason, "CrashLoopBackOff");
    assert.equal(crashed?.restartCount, 1);
    await waitFor(
      "the restart",
      () => stored("flaky")?.status?.containerStatuses?.[0]?.state.running,
    );
    assert.equal(
      stored("flaky")?.status?.containerStatuses?.[0]?.lastState.terminated?.exitCode,
      1,
    );
  });

  test("an image from a .invalid registry never starts: ErrImagePull, then ImagePullBackOff, with a Warning event", async () => {
    env = await startEnv({ podStartDelayMs: 50, podStartJitterMs: 0 });
    const body = podBody("unpullable");
    body.spec.containers[0] = { name: "main", image: "registry.invalid/symphony/compute:7.3.2" };
    await env.core.createNamespacedPod({ namespace: "default", body });
    const waiting = () => stored("unpullable")?.status?.containerStatuses?.[0]?.state.waiting;
    await waitFor("ErrImagePull", () => waiting()?.reason === "ErrImagePull");
    assert.equal(stored("unpullable")?.status?.phase, "Pending");
    assert.match(
      waiting()?.message ?? "",
      /^failed to pull and unpack image "registry\.invalid\/symphony\/compute:7\.3\.2": .*lookup registry\.invalid: no such host$/,
    );
    await waitFor("ImagePullBackOff", () => waiting()?.reason === "ImagePullBackOff");
    assert.equal(
      waiting()?.message,
      'Back-off pulling image "registry.invalid/symphony/compute:7.3.2"',
    );
    const events = await env.core.listNamespacedEvent({ namespace: "default" });
    assert.ok(
      events.items.some(
        (e) =>
          e.involvedObject.name === "unpullable" && e.reason === "Failed" && e.type === "Warning",
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(waiting()?.reason, "ImagePullBackOff", "it stays waiting");
  });

  test("a container whose env names a missing Secret or ConfigMap waits in CreateContainerConfigError until the ConfigMap exists", async () => {
    env = await startEnv({ podStartDelayMs: 50, podStartJitterMs: 0 });
    const withEnv = (name: string, env: unknown[], envFrom: unknown[] = []) => {
      const body = podBody(name);
      body.spec.containers[0] = { ...body.spec.containers[0], env, envFrom } as never;
      return body;
    };
    const secretRef = { valueFrom: { secretKeyRef: { name: "ego-credentials", key: "password" } } };
    await env.core.createNamespacedPod({
      namespace: "default",
      body: withEnv("needs-secret", [{ name: "EGO_PASSWORD", ...secretRef }]),
    });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: withEnv("needs-config", [], [{ configMapRef: { name: "ego-conf" } }]),
    });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: withEnv("optional", [
        { name: "X", valueFrom: { secretKeyRef: { name: "nope", key: "k", optional: true } } },
      ]),
    });
    const waiting = (name: string) => stored(name)?.status?.containerStatuses?.[0]?.state.waiting;
    await waitFor("secret", () => waiting("needs-secret")?.reason === "CreateContainerConfigError");
    assert.equal(waiting("needs-secret")?.message, 'secret "ego-credentials" not found');
    await waitFor("config", () => waiting("needs-config")?.reason === "CreateContainerConfigError");
    assert.equal(waiting("needs-config")?.message, 'configmap "ego-conf" not found');
    await waitFor("an optional reference does not block", running("optional"));
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "ego-conf" }, data: { master: "ego-master" } },
    });
    await waitFor("Running once the ConfigMap exists", running("needs-config"));
    assert.equal(waiting("needs-secret")?.reason, "CreateContainerConfigError");
  });

  test("completePod with restartPolicy Never makes the pod Succeed and frees its resources", async () => {
    env = await startEnv({ nodes: small(1) });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        ...podBody("job", { cpu: "2" }),
        spec: { ...podBody("x", { cpu: "2" }).spec, restartPolicy: "Never" },
      },
    });
    await waitFor("Running", running("job"));
    await env.core.createNamespacedPod({
      namespace: "default",
      body: podBody("next", { cpu: "2" }),
    });
    await waitFor(
      "next waits",
      () => condition(stored("next"), "PodScheduled")?.status === "False",
    );
    env.sim.cluster.completePod("default", "job");
    assert.equal(stored("job")?.status?.phase, "Succeeded");
    await waitFor("next Running once job finished", running("next"));
  });
});

describe("simulator only: nodes", () => {
  test("a node back to Ready lets its kubelet finish pending work", async () => {
    env = await startEnv({ nodes: small(1) });
    env.sim.cluster.setNodeReady("node-1", false);
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "later" },
        spec: { nodeName: "node-1", containers: [{ name: "c", image: "i:1" }] },
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(
      stored("later")?.status?.startTime,
      undefined,
      "no kubelet while the node is down",
    );
    env.sim.cluster.setNodeReady("node-1", true);
    await waitFor("Running once the node is back", running("later"));
  });

  test("removing a node garbage-collects its pods (DisruptionTarget DeletionByPodGC)", async () => {
    env = await startEnv({ nodes: small(2) });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "orphan" },
        spec: { nodeName: "node-2", containers: [{ name: "c", image: "i:1" }] },
      },
    });
    await waitFor("Running", running("orphan"));
    const reasons: string[] = [];
    env.sim.store.subscribe("pods", (event) => {
      const reason = condition(event.object as Pod, "DisruptionTarget")?.reason;
      if (reason) reasons.push(`${event.type} ${reason}`);
    });
    env.sim.cluster.removeNode("node-2");
    await waitFor("garbage collection", () => stored("orphan") === undefined);
    assert.deepEqual(reasons, ["MODIFIED DeletionByPodGC", "DELETED DeletionByPodGC"]);
  });

  test("drainNode cordons the node and evicts its pods through the eviction rules", async () => {
    env = await startEnv({ nodes: small(2) });
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "drained" },
        spec: { nodeName: "node-1", containers: [{ name: "c", image: "i:1" }] },
      },
    });
    await waitFor("Running", running("drained"));
    env.sim.cluster.drainNode("node-1", { gracePeriodSeconds: 0 });
    const node = await env.core.readNode({ name: "node-1" });
    assert.equal(node.spec?.unschedulable, true);
    await waitFor("eviction", () => stored("drained") === undefined);
  });

  test("the same seed gives the same names and placements", async () => {
    const placements = async () => {
      const local = await startEnv({ seed: 42 });
      const result: string[] = [];
      for (let i = 0; i < 5; i++) {
        const pod = await local.core.createNamespacedPod({
          namespace: "default",
          body: podBody("seeded-", { generateName: true }),
        });
        const name = pod.metadata?.name as string;
        await waitFor("creation", () => local.sim.store.get("pods", "default", name)?.spec);
        await waitFor(
          "binding",
          () => (local.sim.store.get("pods", "default", name) as Pod).spec.nodeName,
        );
        result.push(
          `${name}@${(local.sim.store.get("pods", "default", name) as Pod).spec.nodeName}`,
        );
      }
      await local.sim.close();
      return result;
    };
    assert.deepEqual(await placements(), await placements());
  });
});
