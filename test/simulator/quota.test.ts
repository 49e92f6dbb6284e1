// ResourceQuotas over pods, on the simulator and on the real control plane (kube-apiserver's
// ResourceQuota admission and kube-controller-manager's resource quota controller): the status
// the controller writes, what admission adds to it, the refusals and their messages, and scopes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CoreV1Api, V1Pod, V1ResourceQuota } from "@kubernetes/client-node";
import { waitFor } from "../tools/wait-for.ts";
import { describeOnBackends } from "./backends.ts";
import { CONTROLLER_TIMEOUT_MS, podBody, statusOf } from "./helpers.ts";

/** A pod no scheduler takes, so that nothing but the test changes it; quotas count it all the
 * same. */
function pod(
  name: string,
  resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {},
  spec: Record<string, unknown> = {},
) {
  const body = podBody(name, { manual: true });
  const main = { name: "main", image: "registry.example/compute:1.0", resources };
  return { ...body, spec: { ...body.spec, ...spec, containers: [main] } } as V1Pod;
}

async function createQuota(
  core: CoreV1Api,
  namespace: string,
  name: string,
  spec: V1ResourceQuota["spec"],
): Promise<V1ResourceQuota> {
  await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name }, spec } });
  // Pods are judged against a quota once the controller has counted it.
  return waitFor(
    `quota ${name} counted`,
    async () => {
      const quota = await core.readNamespacedResourceQuota({ namespace, name });
      const hard = Object.keys(quota.status?.hard ?? {});
      return hard.length > 0 && hard.every((r) => quota.status?.used?.[r] !== undefined) && quota;
    },
    { timeoutMs: CONTROLLER_TIMEOUT_MS },
  );
}

async function refusal(create: Promise<unknown>): Promise<{ code: number; message?: string }> {
  try {
    await create;
  } catch (error) {
    return statusOf(error);
  }
  assert.fail("the create was accepted");
}

describeOnBackends("resource quotas", {}, (backend) => {
  test("the controller writes status.hard from the spec and status.used over the namespace's pods; admission adds each pod at once", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await core.createNamespacedPod({
      namespace,
      body: pod("first", { requests: { cpu: "100m", memory: "256Mi" } }),
    });
    const quota = await createQuota(core, namespace, "compute", {
      hard: { "requests.cpu": "1", "requests.memory": "1024Mi", pods: "10", "count/pods": "10" },
    });
    assert.deepEqual(quota.status?.hard, {
      "count/pods": "10",
      pods: "10",
      "requests.cpu": "1",
      "requests.memory": "1Gi",
    });
    assert.deepEqual(quota.status?.used, {
      "count/pods": "1",
      pods: "1",
      "requests.cpu": "100m",
      "requests.memory": "256Mi",
    });
    await core.createNamespacedPod({
      namespace,
      body: pod("second", { limits: { cpu: "200m", memory: "512Mi" } }),
    });
    const after = await core.readNamespacedResourceQuota({ namespace, name: "compute" });
    assert.deepEqual(after.status?.used, {
      "count/pods": "2",
      pods: "2",
      "requests.cpu": "300m",
      "requests.memory": "768Mi",
    });
  });

  test("a pod past a quota's limit is refused with 403 and the API server's message; used stays", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await createQuota(core, namespace, "compute-quota", { hard: { "requests.cpu": "200m" } });
    for (const name of ["a", "b"]) {
      await core.createNamespacedPod({ namespace, body: pod(name, { requests: { cpu: "100m" } }) });
    }
    const refused = await refusal(
      core.createNamespacedPod({ namespace, body: pod("c", { requests: { cpu: "100m" } }) }),
    );
    assert.equal(refused.code, 403);
    assert.equal(
      refused.message,
      'pods "c" is forbidden: exceeded quota: compute-quota, requested: requests.cpu=100m, used: requests.cpu=200m, limited: requests.cpu=200m',
    );
    const quota = await core.readNamespacedResourceQuota({ namespace, name: "compute-quota" });
    assert.deepEqual(quota.status?.used, { "requests.cpu": "200m" });
  });

  test("a quota on cpu or memory refuses a container that states no amount of it", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await createQuota(core, namespace, "limits", { hard: { "limits.cpu": "4" } });
    const refused = await refusal(
      core.createNamespacedPod({ namespace, body: pod("bare", { requests: { cpu: "100m" } }) }),
    );
    assert.equal(refused.code, 403);
    assert.equal(
      refused.message,
      'pods "bare" is forbidden: failed quota: limits: must specify limits.cpu for: main',
    );
  });

  test("a quota counts only the pods its scopes select", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await createQuota(core, namespace, "best-effort", {
      hard: { pods: "1" },
      scopes: ["BestEffort"],
    });
    await createQuota(core, namespace, "terminating", {
      hard: { "requests.cpu": "1" },
      scopes: ["Terminating"],
    });
    await core.createNamespacedPod({ namespace, body: pod("idle") });
    // Not BestEffort, not Terminating: neither quota counts it.
    await core.createNamespacedPod({
      namespace,
      body: pod("worker", { requests: { cpu: "2" } }),
    });
    const second = await refusal(core.createNamespacedPod({ namespace, body: pod("idle-2") }));
    assert.match(second.message ?? "", /exceeded quota: best-effort, requested: pods=1/);
    const deadline = { activeDeadlineSeconds: 600 };
    const batch = await refusal(
      core.createNamespacedPod({
        namespace,
        body: pod("batch", { requests: { cpu: "2" } }, deadline),
      }),
    );
    assert.match(batch.message ?? "", /exceeded quota: terminating, requested: requests\.cpu=2/);
    await core.createNamespacedPod({
      namespace,
      body: pod("batch-small", { requests: { cpu: "500m" } }, deadline),
    });
    const terminating = await core.readNamespacedResourceQuota({ namespace, name: "terminating" });
    assert.deepEqual(terminating.status?.used, { "requests.cpu": "500m" });
  });

  test("a pod counts its containers summed, at least each init container on top of the sidecars before it, and its extended resources", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await createQuota(core, namespace, "mixed", {
      hard: { "requests.cpu": "4", "limits.memory": "4Gi", "requests.example.com/dongle": "2" },
    });
    const image = "registry.example/compute:1.0";
    const dongle = { "example.com/dongle": "1" };
    await core.createNamespacedPod({
      namespace,
      body: pod(
        "layered",
        { requests: { cpu: "100m", ...dongle }, limits: { memory: "1Gi", ...dongle } },
        {
          initContainers: [
            {
              name: "sidecar",
              image,
              restartPolicy: "Always",
              resources: { requests: { cpu: "50m" }, limits: { memory: "512Mi" } },
            },
            {
              name: "setup",
              image,
              resources: { requests: { cpu: "500m" }, limits: { memory: "1Gi" } },
            },
          ],
        },
      ),
    });
    const quota = await core.readNamespacedResourceQuota({ namespace, name: "mixed" });
    // cpu: max(100m + 50m, 500m + 50m); memory: max(1Gi + 512Mi, 1Gi + 512Mi).
    assert.deepEqual(quota.status?.used, {
      "limits.memory": "1536Mi",
      "requests.cpu": "550m",
      "requests.example.com/dongle": "1",
    });
  });

  test("a deleted pod's share comes back once the controller has counted again", async () => {
    const { core } = backend();
    const namespace = await backend().namespace("quota");
    await createQuota(core, namespace, "pods", { hard: { pods: "1" } });
    await core.createNamespacedPod({ namespace, body: pod("one") });
    await core.deleteNamespacedPod({ namespace, name: "one", gracePeriodSeconds: 0 });
    await waitFor(
      "the pod's share back",
      async () =>
        (await core.readNamespacedResourceQuota({ namespace, name: "pods" })).status?.used?.pods ===
        "0",
      { timeoutMs: CONTROLLER_TIMEOUT_MS },
    );
    await core.createNamespacedPod({ namespace, body: pod("two") });
  });
});
