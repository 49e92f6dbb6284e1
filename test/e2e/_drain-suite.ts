// Cooperative drains end to end, through the real scripts: a node holding a cooperative host and
// an immediate one is cordoned and drained through the Eviction API, as `kubectl drain` does. The
// immediate host is evicted at once and reported, as before; the cooperative host's eviction is
// refused by the instance's PodDisruptionBudget (429) while getReturnRequests reports it with its
// grace period; once HostFactory returns it the sidecar deletes the pod and the drain is done.
// The same suite runs on the simulator (drain.test.ts) and on the real control plane
// (control-plane-drain.test.ts), where the budget's status is the disruption controller's.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { disruptionBudgetName } from "../../sidecar/kube/disruption-budget.ts";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, finalStatus, type RequestAnswer } from "./_requests.ts";
import { type E2eHarness, INSTANCE } from "./harness.ts";

export const DRAIN_TEMPLATES = join(
  import.meta.dirname,
  "..",
  "fixtures",
  "templates",
  "drains.json",
);
/** The node the suite drains; the templates' pods go only there (drains.json). */
export const DRAIN_POOL = { key: "hostfactory-k8s.test/pool", value: "drains" };
/** The templates' terminationGracePeriodSeconds. */
const GRACE_SECONDS = 5;

export interface DrainSuiteBackend {
  /** A harness whose sidecar watches nodes, with DRAIN_TEMPLATES. */
  open(): Promise<E2eHarness>;
  /** Adds a Ready node labelled and tainted for DRAIN_POOL; resolves with its name. */
  addPoolNode(): Promise<string>;
  removeNode(name: string): Promise<void>;
}

interface Refusal {
  code: number;
  body: { message?: string; reason?: string; details?: { causes?: { message?: string }[] } };
}

/** `skip`: why the suite cannot run here (no control plane), if it cannot. */
export function drainSuite(title: string, backend: DrainSuiteBackend, skip?: string): void {
  describe(title, { skip: skip ?? false }, () => {
    let h: E2eHarness;
    let core: CoreV1Api;
    let policy: PolicyV1Api;
    let node = "";
    before(async () => {
      h = await backend.open();
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(h.kubeconfigPath);
      core = kubeConfig.makeApiClient(CoreV1Api);
      policy = kubeConfig.makeApiClient(PolicyV1Api);
      node = await backend.addPoolNode();
    });
    after(async () => {
      await h?.close();
      if (node) await backend.removeNode(node);
    });

    const namespace = () => h.truth.namespace;
    /** One eviction, as `kubectl drain` asks for each pod: undefined when it was granted. */
    const evict = async (name: string): Promise<Refusal | undefined> => {
      try {
        await core.createNamespacedPodEviction({
          name,
          namespace: namespace(),
          body: {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name, namespace: namespace() },
          },
        });
        return undefined;
      } catch (error) {
        if (!(error instanceof ApiException)) throw error;
        return { code: error.code, body: JSON.parse(String(error.body)) };
      }
    };
    const running = async (templateId: string) => {
      const requestId = await accepted(h, "requestMachines", {
        template: { templateId, machineCount: 1 },
      });
      const final = await finalStatus(h, requestId, 60_000);
      assert.equal(final.status, "complete", final.message);
      const [machine] = final.machines as RequestAnswer["machines"];
      assert.ok(machine);
      return { name: machine.name, machineId: machine.machineId };
    };

    test("a drain waits for the cooperative host until HostFactory returns it; the immediate host is evicted as before", async () => {
      const cooperative = await running("cooperative");
      const immediate = await running("immediate");
      const budgetName = disruptionBudgetName(INSTANCE);
      // The disruption controller has counted the host once the budget's status is current.
      const budget = await waitFor("the budget over the cooperative host", async () => {
        const found = await policy
          .readNamespacedPodDisruptionBudget({ name: budgetName, namespace: namespace() })
          .catch(() => undefined);
        const observed = found?.status?.observedGeneration ?? 0;
        return (
          found &&
          (found.status === undefined || observed >= (found.metadata?.generation ?? 0)) &&
          found
        );
      });
      assert.equal(budget.spec?.maxUnavailable, 0);
      const pod = await core.readNamespacedPod({ name: cooperative.name, namespace: namespace() });
      assert.equal(
        pod.metadata?.annotations?.["cluster-autoscaler.kubernetes.io/safe-to-evict"],
        "false",
      );
      assert.equal(pod.metadata?.annotations?.["karpenter.sh/do-not-disrupt"], "true");

      const held = [cooperative, immediate];
      const reported = async () => {
        const result = await h.script("getReturnRequests", { machines: held });
        assert.equal(result.code, 0, result.stderr);
        const requests = (result.json?.requests ?? []) as {
          machine: string;
          gracePeriod: number;
        }[];
        return new Map(requests.map((r) => [r.machine, r.gracePeriod]));
      };
      assert.deepEqual(await reported(), new Map(), "nothing to report before the drain");

      // kubectl drain: cordon, then evict every pod on the node, again and again until it is empty.
      await core.patchNode(
        { name: node, body: { spec: { unschedulable: true } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      assert.equal(await evict(immediate.name), undefined, "the immediate host is evicted");
      const refusal = await evict(cooperative.name);
      assert.equal(refusal?.code, 429);
      assert.equal(
        refusal?.body.message,
        "Cannot evict pod as it would violate the pod's disruption budget.",
      );
      assert.equal(refusal?.body.reason, "TooManyRequests");
      assert.equal(
        refusal?.body.details?.causes?.[0]?.message,
        `The disruption budget ${budgetName} does not allow evicting pods currently`,
      );

      const both = await waitFor("getReturnRequests to report both hosts", async () => {
        const found = await reported();
        return found.size === 2 && found;
      });
      assert.equal(both.get(cooperative.name), GRACE_SECONDS, "the host's grace period");
      const again = await evict(cooperative.name);
      assert.equal(again?.code, 429, "still refused: Symphony has not let the host go");
      assert.ok(await h.truth.pod(cooperative.name), "and the host still runs");

      const returnId = await accepted(h, "requestReturnMachines", { machines: [cooperative] });
      const returned = await finalStatus(h, returnId, 60_000);
      assert.equal(returned.status, "complete", returned.message);
      // The drain's next eviction finds no pod: kubectl drain counts that as done.
      const last = await waitFor("the drain to complete", async () => {
        const answer = await evict(cooperative.name);
        return answer?.code === 404 && answer;
      });
      assert.equal(last.body.reason, "NotFound");
      const left = (await h.truth.pods()).filter((p) => p.nodeName === node);
      assert.deepEqual(left, [], "the drained node holds none of our pods");
    });
  });
}
