// The faults that can be produced for real, on a control plane of this file's own: the API server
// and etcd killed and restarted in the middle of a request, a ResourceQuota and a
// ValidatingAdmissionPolicy refusing creates, a node that stops heartbeating (the node lifecycle
// controller's NotReady taint, then the taint eviction controller's eviction), and a drain
// through the Eviction API. What HostFactory is told comes from the real controllers.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import { LABEL_MACHINE_INDEX } from "../../sidecar/provider/model.ts";
import {
  type ControlPlane,
  controlPlaneUnavailable,
  startControlPlane,
} from "../control-plane/index.ts";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, finalStatus, type RequestAnswer } from "./_requests.ts";
import { assertCreatedOnce } from "./_restart-suite.ts";
import { type ControlPlaneHarness, startControlPlaneHarness } from "./control-plane-harness.ts";

const TEMPLATES = join(import.meta.dirname, "..", "fixtures", "templates", "pinned.json");
const POOL_LABEL = "hostfactory-k8s.test/pool";
/** Pods tolerate a NotReady node this long before the taint eviction controller evicts them. */
const TOLERATION_SECONDS = 3;
/** How long a component stays down. */
const DOWNTIME_MS = 3_000;
/** Slow pod creation (2 per second) so that a fault lands in the middle of the request. */
const SLOW = { qps: "2", burst: "1" };

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping the faults on the real control plane: ${skip}`);

describe("faults on the real control plane", { skip: skip ?? false }, () => {
  let controlPlane: ControlPlane;
  let h: ControlPlaneHarness;
  let kubeConfig: KubeConfig;
  let core: CoreV1Api;
  before(async () => {
    controlPlane = await startControlPlane({ tolerationSeconds: TOLERATION_SECONDS });
    kubeConfig = controlPlane.kubeConfig();
    core = kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    await h?.close();
    await controlPlane?.stop();
  });

  const open = async (flags: Record<string, unknown> = {}) => {
    await h?.close();
    h = await startControlPlaneHarness(controlPlane, {
      templates: TEMPLATES,
      flags: { "watch-nodes": true, ...flags },
    });
    return h;
  };
  const request = (templateId: string, machineCount: number) =>
    accepted(h, "requestMachines", { template: { templateId, machineCount } });
  const expectedNames = (requestId: string, count: number) =>
    Array.from({ length: count }, (_, i) => `hf-${requestId}-${i}`);

  for (const component of ["kube-apiserver", "etcd"] as const) {
    test(`${component} killed mid-request and started again: the request completes, each machine created once`, async () => {
      await open(SLOW);
      const creates = await h.truth.recordCreates();
      try {
        const requestId = await request("compute-small", 10);
        await waitFor("some pods", async () => (await h.truth.pods()).length >= 2, {
          timeoutMs: 30_000,
        });
        await controlPlane.kill(component);
        await sleep(DOWNTIME_MS);
        await controlPlane.start(component);
        await controlPlane.resyncKubelets();
        const final = await finalStatus(h, requestId, 120_000).catch(async (error) => {
          // What the cluster and the sidecar show, for whoever reads a failure.
          const sidecar = h.sidecar;
          const seen = {
            pods: await h.truth.pods(),
            cache: sidecar && [...sidecar.caches.pods.values()].map((p) => `${p.name} ${p.phase}`),
            caches: sidecar && {
              pods: sidecar.caches.pods.stats,
              records: sidecar.caches.records.stats,
            },
            reconciler: sidecar?.reconciler.stats,
          };
          throw new Error(`${(error as Error).message}; seen: ${JSON.stringify(seen)}`);
        });
        assert.equal(final.status, "complete", final.message);
        const names = expectedNames(requestId, 10);
        assert.deepEqual(final.machines.map((m) => m.name).sort(), [...names].sort());
        assert.deepEqual((await h.truth.pods()).map((p) => p.name).sort(), [...names].sort());
        assertCreatedOnce(creates, names);
      } finally {
        creates.stop();
      }
    });
  }

  test("a ResourceQuota refuses creates: those machines fail at once with the API server's message, and are not retried", async () => {
    // A sidecar that watches quotas refuses such a request up front (control-plane-quota.test.ts);
    // this one does not, as when a quota changes after a request was accepted.
    await open({ "watch-quotas": false });
    const namespace = h.namespace;
    // compute-small asks 100m: two fit.
    await core.createNamespacedResourceQuota({
      namespace,
      body: { metadata: { name: "compute-quota" }, spec: { hard: { "requests.cpu": "200m" } } },
    });
    // Until the quota controller has computed its status, the quota admission refuses every pod.
    await waitFor("the quota's status", async () => {
      const quota = await core.readNamespacedResourceQuota({ name: "compute-quota", namespace });
      return quota.status?.hard?.["requests.cpu"] !== undefined;
    });
    const requestId = await request("compute-small", 4);
    const final = await finalStatus(h, requestId, 30_000);
    assert.equal(final.status, "complete_with_error");
    const failed = final.machines.filter((m) => m.result === "fail");
    assert.equal(failed.length, 2, JSON.stringify(final.machines));
    for (const machine of failed) {
      assert.match(
        machine.message,
        /forbidden: exceeded quota: compute-quota, requested: requests\.cpu=100m, used: requests\.cpu=200m, limited: requests\.cpu=200m/,
      );
    }
    assert.equal(final.machines.filter((m) => m.result === "succeed").length, 2);

    // Once the quota is gone, a retry would succeed: none comes.
    await core.deleteNamespacedResourceQuota({ name: "compute-quota", namespace });
    await sleep(2_000);
    const podNames = (await h.truth.pods()).map((p) => p.name);
    for (const machine of failed) assert.ok(!podNames.includes(machine.name), machine.name);
    const next = await request("compute-small", 2);
    assert.equal((await finalStatus(h, next, 30_000)).status, "complete", "later requests run");
  });

  test("a ValidatingAdmissionPolicy refuses creates: those machines fail at once with its message", async () => {
    await open();
    const namespace = h.namespace;
    const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const policy = `odd-machines-${namespace}`;
    const message = "odd-numbered machines are refused by the site's policy";
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
            ],
          },
          validations: [
            {
              expression: `!has(object.metadata.labels) || !('${LABEL_MACHINE_INDEX}' in object.metadata.labels) || int(object.metadata.labels['${LABEL_MACHINE_INDEX}']) % 2 == 0`,
              message,
            },
          ],
        },
      },
    });
    await admission.createValidatingAdmissionPolicyBinding({
      body: {
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ["Deny"],
          matchResources: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
          },
        },
      },
    });
    try {
      // A policy takes effect once the API server has compiled it: probe with a dry run.
      const probe: V1Pod = {
        metadata: { name: "policy-probe", labels: { [LABEL_MACHINE_INDEX]: "1" } },
        spec: { containers: [{ name: "c", image: "registry.example.com/probe:1" }] },
      };
      await waitFor("the policy to refuse a pod", async () => {
        try {
          await core.createNamespacedPod({ namespace, body: probe, dryRun: "All" });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 422;
        }
      });
      const requestId = await request("compute-small", 4);
      const final = await finalStatus(h, requestId, 30_000);
      assert.equal(final.status, "complete_with_error");
      const byName = new Map(final.machines.map((m) => [m.name, m]));
      for (const [index, name] of expectedNames(requestId, 4).entries()) {
        const machine = byName.get(name);
        if (index % 2 === 0) assert.equal(machine?.result, "succeed", name);
        else {
          assert.equal(machine?.result, "fail", name);
          assert.match(
            machine?.message ?? "",
            new RegExp(`ValidatingAdmissionPolicy '${policy}' .*denied request: ${message}`),
          );
        }
      }
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy });
      await admission.deleteValidatingAdmissionPolicy({ name: policy });
    }
  });

  /** Requests `count` machines of `templateId` on a node of their own; returns them and it. */
  const onOwnNode = async (pool: string, templateId: string, count: number) => {
    const node = await controlPlane.addNode({
      name: `${pool}-${h.namespace}`,
      labels: { [POOL_LABEL]: pool },
    });
    const requestId = await request(templateId, count);
    const final = await finalStatus(h, requestId, 60_000);
    assert.equal(final.status, "complete", final.message);
    return { node, machines: final.machines };
  };
  const returnRequests = async (machines: RequestAnswer["machines"]) => {
    const answer = await h.script("getReturnRequests", {
      machines: machines.map(({ name, machineId }) => ({ name, machineId })),
    });
    assert.equal(answer.code, 0, answer.stdout + answer.stderr);
    return new Map(
      ((answer.json?.requests ?? []) as { machine: string; gracePeriod: number }[]).map((c) => [
        c.machine,
        c.gracePeriod,
      ]),
    );
  };

  test("a node that stops heartbeating: its machines are reported at once, and stay reported through the real eviction", async () => {
    await open();
    const { node, machines } = await onOwnNode("lost", "compute-lost", 2);
    await controlPlane.stopHeartbeat(node);
    const reported = await waitFor("the NotReady node's machines to be reported", async () => {
      const found = await returnRequests(machines);
      return machines.every((m) => found.get(m.name) === 0) && found;
    });
    assert.equal(reported.size, machines.length);
    const taints = (await core.readNode({ name: node })).spec?.taints ?? [];
    assert.ok(
      taints.some((t) => t.key.startsWith("node.kubernetes.io/") && t.effect === "NoExecute"),
      `the node lifecycle controller's NoExecute taint: ${JSON.stringify(taints)}`,
    );
    // The node lifecycle controller taints the node; after the pods' toleration the taint
    // eviction controller deletes them.
    await waitFor(
      "the taint eviction controller to evict the pods",
      async () => (await h.truth.pods()).every((p) => p.deleting),
      { timeoutMs: 60_000 },
    );
    const evicted = await returnRequests(machines);
    for (const machine of machines) assert.equal(evicted.get(machine.name), 0, machine.name);
  });

  test("a drain through the Eviction API: the evicted machines are reported, then returned", async () => {
    await open();
    const { node, machines } = await onOwnNode("drained", "compute-drained", 2);
    for (const machine of machines) {
      await core.createNamespacedPodEviction({
        name: machine.name,
        namespace: h.namespace,
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: machine.name, namespace: h.namespace },
        },
      });
    }
    const reported = await waitFor("the evicted machines to be reported", async () => {
      const found = await returnRequests(machines);
      return machines.every((m) => found.has(m.name)) && found;
    });
    for (const grace of reported.values())
      assert.ok(grace >= 0 && grace <= 1, `gracePeriod ${grace}`);
    const returnId = await accepted(h, "requestReturnMachines", {
      machines: machines.map(({ name, machineId }) => ({ name, machineId })),
    });
    const returned = await finalStatus(h, returnId, 30_000);
    assert.equal(returned.status, "complete", returned.message);
    await waitFor("the drained node to be empty of our pods", async () =>
      (await h.truth.pods()).every((p) => p.nodeName !== node),
    );
  });
});
