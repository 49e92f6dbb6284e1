// Templates on what Kubernetes offers beyond cpu and memory, and pods that will never start, end
// to end through the real scripts: a GPU template offers ngpus and lands on the node with GPUs;
// a machine whose image cannot be pulled (or whose Secret is missing) fails within seconds with
// the kubelet's reason, not at its Pending timeout, and leaves no pod behind. The same suite runs
// on the simulator (fast-failure.test.ts) and on the real control plane (control-plane.test.ts).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, finalStatus } from "./_requests.ts";
import type { E2eHarness } from "./harness.ts";

export const FAST_FAILURE_TEMPLATES = join(
  import.meta.dirname,
  "..",
  "fixtures",
  "templates",
  "fast-failure.json",
);
/** How long a listed reason must show before its machine fails, in the suite's sidecars. */
export const FAIL_FAST_AFTER_SECONDS = 2;
/** The templates' Pending timeout: a failure well before it came from the kubelet's reason. */
const PENDING_TIMEOUT_SECONDS = 300;

type Template = { templateId: string; attributes: Record<string, [string, string]> };

export function fastFailureSuite(
  title: string,
  open: () => Promise<E2eHarness>,
  options: {
    /** The node with GPUs the harness's cluster has: the GPU template's pods land there. */
    gpuNode: () => string;
    /** The cluster's kubelets check the Secrets a container's env names (KWOK's do not). */
    checksSecrets: boolean;
  },
): void {
  describe(title, () => {
    let h: E2eHarness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    const podsOf = async (requestId: string) =>
      (await h.truth.pods()).filter((p) => p.labels["hostfactory-k8s/request-id"] === requestId);

    test("a template requesting nvidia.com/gpu offers ngpus and its pods run on the GPU node", async () => {
      const listed = await h.script("getAvailableTemplates", {});
      assert.equal(listed.code, 0, listed.stdout + listed.stderr);
      const gpu = ((listed.json?.templates ?? []) as Template[]).find(
        (t) => t.templateId === "compute-gpu",
      );
      assert.deepEqual(gpu?.attributes, {
        type: ["String", "X86_64"],
        ncpus: ["Numeric", "1"],
        ncores: ["Numeric", "1"],
        nram: ["Numeric", "256"],
        ngpus: ["Numeric", "1"],
      });
      const requestId = await accepted(h, "requestMachines", {
        template: { templateId: "compute-gpu", machineCount: 2 },
      });
      const final = await finalStatus(h, requestId);
      assert.equal(final.status, "complete", final.message);
      const pods = await podsOf(requestId);
      assert.deepEqual(
        pods.map((p) => p.nodeName),
        [options.gpuNode(), options.gpuNode()],
      );
    });

    const failsFast = async (templateId: string, message: RegExp) => {
      const started = Date.now();
      const requestId = await accepted(h, "requestMachines", {
        template: { templateId, machineCount: 2 },
      });
      const final = await finalStatus(h, requestId, 120_000);
      const seconds = (Date.now() - started) / 1000;
      assert.equal(final.status, "complete_with_error");
      assert.equal(final.machines.length, 2);
      for (const machine of final.machines) {
        assert.equal(machine.result, "fail");
        assert.match(machine.message, message);
      }
      assert.ok(
        seconds < PENDING_TIMEOUT_SECONDS / 4,
        `failed after ${seconds} s, not long before the ${PENDING_TIMEOUT_SECONDS} s timeout`,
      );
      await waitFor("the pods to be deleted", async () => (await podsOf(requestId)).length === 0);
    };

    test("a machine whose image cannot be pulled fails within seconds with the kubelet's reason, and its pod goes", async () => {
      await failsFast(
        "bad-image",
        /^the pod cannot start: container "compute": (ErrImagePull|ImagePullBackOff): .*registry\.invalid\/symphony\/compute:7\.3\.2/,
      );
    });

    test("a machine whose container names a missing Secret fails within seconds with CreateContainerConfigError", {
      skip: options.checksSecrets ? false : "this cluster's kubelets do not check Secrets",
    }, async () => {
      await failsFast(
        "missing-secret",
        /^the pod cannot start: container "compute": CreateContainerConfigError: secret "ego-credentials" not found$/,
      );
    });
  });
}
