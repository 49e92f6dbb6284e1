// Quota-aware capacity on the real control plane: the quota's status.used is what
// kube-apiserver's ResourceQuota admission and kube-controller-manager's quota controller write.
import { controlPlaneUnavailable, sharedControlPlane } from "../control-plane/index.ts";
import { quotaSuite } from "./_quota-suite.ts";
import { startControlPlaneHarness } from "./control-plane-harness.ts";

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping quota-aware capacity on the real control plane: ${skip}`);

quotaSuite(
  "resource quotas on the real control plane",
  async () => startControlPlaneHarness(await sharedControlPlane()),
  skip,
);
