// Cooperative drains on the real control plane: kube-apiserver's eviction subresource applies the
// sidecar's PodDisruptionBudget with the status kube-controller-manager's disruption controller
// gives it.
import { CoreV1Api } from "@kubernetes/client-node";
import { controlPlaneUnavailable, sharedControlPlane } from "../control-plane/index.ts";
import { DRAIN_POOL, DRAIN_TEMPLATES, drainSuite } from "./_drain-suite.ts";
import { startControlPlaneHarness } from "./control-plane-harness.ts";

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping cooperative drains on the real control plane: ${skip}`);

drainSuite(
  "cooperative drains on the real control plane",
  {
    async open() {
      return startControlPlaneHarness(await sharedControlPlane(), {
        templates: DRAIN_TEMPLATES,
        flags: { "watch-nodes": true },
      });
    },
    async addPoolNode() {
      return (await sharedControlPlane()).addNode({
        cpu: "2",
        labels: { [DRAIN_POOL.key]: DRAIN_POOL.value },
        taints: [{ key: DRAIN_POOL.key, value: DRAIN_POOL.value, effect: "NoSchedule" }],
      });
    },
    async removeNode(name) {
      const core = (await sharedControlPlane()).kubeConfig().makeApiClient(CoreV1Api);
      await core.deleteNode({ name }).catch(() => {});
    },
  },
  skip,
);
