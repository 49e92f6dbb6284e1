// Quota-aware capacity end to end, through the real scripts: a ResourceQuota in the provider's
// namespace bounds availableNumber, a request beyond it is refused naming the quota, machines
// taken use it up and a returned one gives its room back. The same suite runs on the simulator
// (quota.test.ts) and on the real control plane (control-plane-quota.test.ts), where the quota's
// status comes from kube-apiserver's admission and kube-controller-manager's quota controller.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, finalStatus } from "./_requests.ts";
import type { E2eHarness } from "./harness.ts";

type TemplateAnswer = { templateId: string; maxNumber: number; availableNumber: number };

/** compute-small asks 100m cpu and allows 10 machines; compute-huge asks 64 cpus (templates.json). */
const QUOTA = "compute-quota";

/** `skip`: why the suite cannot run here (no control plane), if it cannot. */
export function quotaSuite(title: string, open: () => Promise<E2eHarness>, skip?: string): void {
  describe(title, { skip: skip ?? false }, () => {
    let h: E2eHarness;
    let core: CoreV1Api;
    before(async () => {
      h = await open();
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(h.kubeconfigPath);
      core = kubeConfig.makeApiClient(CoreV1Api);
    });
    after(async () => {
      await h?.close();
    });

    /** getAvailableTemplates once `accept` likes its answer. */
    const templatesWhen = (what: string, accept: (small: TemplateAnswer) => boolean) =>
      waitFor(
        what,
        async () => {
          const result = await h.script("getAvailableTemplates", {});
          const templates = (result.json?.templates ?? []) as TemplateAnswer[];
          const small = templates.find((t) => t.templateId === "compute-small");
          return result.code === 0 && small && accept(small) && { result, templates, small };
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );

    test("a quota of 200m cpu leaves compute-small (100m) 2 machines; a request of 3 is refused naming the quota, and nothing is stored", async () => {
      const namespace = h.truth.namespace;
      await core.createNamespacedResourceQuota({
        namespace,
        body: { metadata: { name: QUOTA }, spec: { hard: { "requests.cpu": "200m" } } },
      });
      const { result, templates, small } = await templatesWhen(
        "availableNumber to follow the quota",
        (t) => t.availableNumber === 2,
      );
      assert.equal(small.maxNumber, 10, "maxNumber is the template's, whatever the quota");
      const huge = templates.find((t) => t.templateId === "compute-huge");
      assert.equal(huge?.availableNumber, 0, "64 cpus do not fit in 200m");
      assert.match(
        String(result.json?.message),
        /compute-small: ResourceQuota 'compute-quota' admits 2 more machines \(requests\.cpu: 200m hard, 0 used, 100m a machine\)\./,
      );

      const records = await h.truth.configMapCount();
      const refused = await h.script("requestMachines", {
        template: { templateId: "compute-small", machineCount: 3 },
      });
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(
        String(refused.json?.message),
        new RegExp(
          `template 'compute-small' has 2 machines available under ResourceQuota 'compute-quota' in namespace ${namespace} \\(requests\\.cpu: 200m hard, 0 used, 100m a machine\\); 3 requested`,
        ),
      );
      assert.equal(await h.truth.configMapCount(), records, "no record was written");
      assert.deepEqual(await h.truth.pods(), [], "no pod was created");
    });

    test("the machines taken use the quota up, and a returned one gives its room back", async () => {
      const requestId = await accepted(h, "requestMachines", {
        template: { templateId: "compute-small", machineCount: 2 },
      });
      const { result } = await templatesWhen("the quota used up", (t) => t.availableNumber === 0);
      assert.match(String(result.json?.message), /admits 0 more machines/);
      const refused = await h.script("requestMachines", {
        template: { templateId: "compute-small", machineCount: 1 },
      });
      assert.match(String(refused.json?.message), /has 0 machines available under ResourceQuota/);

      const final = await finalStatus(h, requestId);
      assert.equal(final.status, "complete", final.message);
      const [machine] = final.machines;
      await accepted(h, "requestReturnMachines", {
        machines: [{ name: machine?.name, machineId: machine?.machineId }],
      });
      await templatesWhen("the returned machine's room back", (t) => t.availableNumber === 1);
    });
  });
}
