// PodDisruptionBudgets as the eviction subresource applies them, on the simulator and on the real
// control plane (kube-apiserver's eviction REST and kube-controller-manager's disruption
// controller): a budget that allows no disruption refuses the eviction of a running pod it
// selects with the same 429 Status, and lets through what it does not protect.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreV1Api } from "@kubernetes/client-node";
import { PolicyV1Api } from "@kubernetes/client-node";
import { waitFor } from "../tools/wait-for.ts";
import { describeOnBackends } from "./backends.ts";
import { CONTROLLER_TIMEOUT_MS, podBody } from "./helpers.ts";

const evictionPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${namespace}/pods/${name}/eviction`;
const eviction = (namespace: string, name: string) => ({
  apiVersion: "policy/v1",
  kind: "Eviction",
  metadata: { name, namespace },
});

async function readyPod(core: CoreV1Api, namespace: string, name: string, nodeName: string) {
  const body = podBody(name, { labels: { app: "protected" } });
  await core.createNamespacedPod({
    namespace,
    body: { ...body, spec: { ...body.spec, nodeName } },
  });
  await waitFor(`${name} Ready`, async () => {
    const pod = await core.readNamespacedPod({ namespace, name });
    return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  });
}

describeOnBackends("pod disruption budgets", {}, (backend) => {
  test("maxUnavailable 0 over bare pods refuses the eviction of a Ready pod with the API server's 429; a Pending pod and an unselected one are evicted", async () => {
    const { core, kc } = backend();
    const policy = kc.makeApiClient(PolicyV1Api);
    const namespace = await backend().namespace("pdb");
    const node = await backend().addNode({ name: "pdb-node", cpu: "4" });
    await policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: {
        metadata: { name: "hosts" },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: "protected" } } },
      },
    });
    await readyPod(core, namespace, "held", node);
    // The real server refuses ("still being processed") until the controller has counted it.
    await waitFor(
      "the budget counted",
      async () => {
        const budget = await policy.readNamespacedPodDisruptionBudget({ namespace, name: "hosts" });
        return backend().name === "simulator" || budget.status?.currentHealthy === 1;
      },
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );

    const refused = await backend().raw(
      "POST",
      evictionPath(namespace, "held"),
      eviction(namespace, "held"),
    );
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), null);
    assert.deepEqual(refused.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      reason: "TooManyRequests",
      details: {
        causes: [
          {
            reason: "DisruptionBudget",
            message: "The disruption budget hosts does not allow evicting pods currently",
          },
        ],
      },
      code: 429,
    });
    assert.ok(await core.readNamespacedPod({ namespace, name: "held" }), "the pod is not touched");

    const pending = podBody("waiting", { labels: { app: "protected" }, manual: true });
    await core.createNamespacedPod({ namespace, body: pending });
    const free = podBody("free");
    await core.createNamespacedPod({
      namespace,
      body: { ...free, spec: { ...free.spec, nodeName: node } },
    });
    for (const name of ["waiting", "free"]) {
      const granted = await backend().raw(
        "POST",
        evictionPath(namespace, name),
        eviction(namespace, name),
      );
      assert.equal(granted.status, 201, `${name}: ${granted.text}`);
    }
  });

  test("an update of a budget leaves its status alone: only its status subresource writes it", async () => {
    const { kc } = backend();
    const policy = kc.makeApiClient(PolicyV1Api);
    const namespace = await backend().namespace("pdb-status");
    await policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: {
        metadata: { name: "hosts" },
        spec: { maxUnavailable: 0, selector: { matchLabels: { app: "protected" } } },
      },
    });
    const forged = {
      currentHealthy: 42,
      desiredHealthy: 42,
      disruptionsAllowed: 42,
      expectedPods: 42,
    };
    // The disruption controller writes the status too: an update it overtook is sent again.
    const updated = await waitFor("the update", async () => {
      const current = await policy.readNamespacedPodDisruptionBudget({ namespace, name: "hosts" });
      const body = { ...current, spec: { ...current.spec, maxUnavailable: 1 }, status: forged };
      try {
        return await policy.replaceNamespacedPodDisruptionBudget({
          namespace,
          name: "hosts",
          body,
        });
      } catch (error) {
        if ((error as { code?: number }).code === 409) return undefined;
        throw error;
      }
    });
    assert.equal(updated.spec?.maxUnavailable, 1);
    assert.notEqual(updated.status?.disruptionsAllowed, 42);
  });
});
