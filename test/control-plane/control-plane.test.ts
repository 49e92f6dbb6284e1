// The shared real control plane does what the suites built on it rely on: the scheduler places
// pods on KWOK nodes and says why it cannot, KWOK runs and fails pods, the node lifecycle
// controller notices a silent node, and RBAC and ServiceAccount tokens are real.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import { controlPlaneUnavailable, type SharedControlPlane, sharedControlPlane } from "./index.ts";

/** A hung control plane fails the suite instead of hanging it. */
const SUITE_TIMEOUT_MS = 600_000;
const POLL_MS = 200;
/** Waits that the suite's own timeout bounds. */
const WAIT: WaitOptions = { timeoutMs: SUITE_TIMEOUT_MS, intervalMs: POLL_MS };

function pod(name: string, cpu = "100m"): V1Pod {
  return {
    metadata: { name },
    spec: {
      containers: [{ name: "main", image: "busybox", resources: { requests: { cpu } } }],
      restartPolicy: "Never",
    },
  };
}

describe("real control plane", {
  skip: controlPlaneUnavailable(),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  let controlPlane: SharedControlPlane;
  let core: CoreV1Api;
  let namespace: string;
  const scratch = mkdtempSync(join(tmpdir(), "control-plane-test-"));

  before(async () => {
    controlPlane = await sharedControlPlane();
    core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
    namespace = await controlPlane.createNamespace();
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test("a pod is scheduled onto a KWOK node and becomes Running and Ready with an IP", async () => {
    await core.createNamespacedPod({ namespace, body: pod("runs") });
    const running = await waitFor(
      "the pod to run",
      async () => {
        const read = await core.readNamespacedPod({ namespace, name: "runs" });
        return read.status?.phase === "Running" ? read : undefined;
      },
      WAIT,
    );
    assert.match(running.spec?.nodeName ?? "", /^kwok-node-/);
    assert.match(running.status?.podIP ?? "", /^10\.244\.\d+\.\d+$/);
    const ready = running.status?.conditions?.find((condition) => condition.type === "Ready");
    assert.equal(ready?.status, "True");
  });

  test("a pod no node can hold gets the scheduler's FailedScheduling reason", async () => {
    await core.createNamespacedPod({ namespace, body: pod("too-big", "1000") });
    const scheduled = await waitFor(
      "the PodScheduled condition",
      async () => {
        const read = await core.readNamespacedPod({ namespace, name: "too-big" });
        return read.status?.conditions?.find((condition) => condition.type === "PodScheduled");
      },
      WAIT,
    );
    assert.equal(scheduled.status, "False");
    assert.equal(scheduled.reason, "Unschedulable");
    assert.match(scheduled.message ?? "", /nodes are available: .*Insufficient cpu/);
    const event = await waitFor(
      "the FailedScheduling event",
      async () => {
        const events = await core.listNamespacedEvent({
          namespace,
          fieldSelector: "involvedObject.name=too-big",
        });
        return events.items.find((item) => item.reason === "FailedScheduling");
      },
      WAIT,
    );
    assert.match(event.message ?? "", /Insufficient cpu/);
  });

  test("failPod makes a running pod Failed with the given termination reason", async () => {
    await core.createNamespacedPod({ namespace, body: pod("fails") });
    await waitFor(
      "the pod to run",
      async () => {
        const read = await core.readNamespacedPod({ namespace, name: "fails" });
        return read.status?.phase === "Running" ? true : undefined;
      },
      WAIT,
    );
    await controlPlane.failPod(namespace, "fails", "OOMKilled");
    const failed = await core.readNamespacedPod({ namespace, name: "fails" });
    assert.equal(failed.status?.phase, "Failed");
    const terminated = failed.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.reason, "OOMKilled");
    assert.equal(terminated?.exitCode, 1);
  });

  test("a node whose heartbeat stops is marked NotReady and tainted unreachable", async () => {
    const node = await controlPlane.addNode({ cpu: "2", labels: { purpose: "heartbeat-test" } });
    await controlPlane.stopHeartbeat(node);
    const tainted = await waitFor(
      "the unreachable taint",
      async () => {
        const read = await core.readNode({ name: node });
        return read.spec?.taints?.find((taint) => taint.key === "node.kubernetes.io/unreachable");
      },
      WAIT,
    );
    assert.equal(tainted.effect, "NoSchedule");
    await core.deleteNode({ name: node });
  });

  test("a ServiceAccount's token is authenticated and RBAC refuses what it was not granted", async () => {
    const path = await controlPlane.kubeconfigFor(namespace, "default", join(scratch, "sa"));
    const config = new KubeConfig();
    config.loadFromFile(path);
    const asServiceAccount = config.makeApiClient(CoreV1Api);
    await assert.rejects(asServiceAccount.listNamespacedPod({ namespace }), (error) => {
      assert.ok(error instanceof ApiException);
      assert.equal(error.code, 403);
      assert.match(String(error.body), new RegExp(`system:serviceaccount:${namespace}:default`));
      return true;
    });
  });
});
