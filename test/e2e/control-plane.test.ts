// The provider's end-to-end suites and the regression scenarios on the real control plane
// (test/control-plane): the same suites as on the simulator, each in a namespace of its own on the
// control plane the test run shares. Machine states and messages come from the real scheduler,
// controllers and KWOK's kubelets. Suites that stop the API server or etcd, or change the
// cluster's timings, are in control-plane-faults.test.ts, on a control plane of their own.
import { before, describe } from "node:test";
import {
  controlPlaneUnavailable,
  type SharedControlPlane,
  sharedControlPlane,
} from "../control-plane/index.ts";
import { regressionScenarios } from "../regression/_scenarios.ts";
import { realCluster } from "../regression/_targets.ts";
import { testSeed } from "../tools/seed.ts";
import { BULK_TEMPLATES, crashSuite } from "./_crash-suite.ts";
import { failoverSuite } from "./_failover-suite.ts";
import {
  FAIL_FAST_AFTER_SECONDS,
  FAST_FAILURE_TEMPLATES,
  fastFailureSuite,
} from "./_fast-failure-suite.ts";
import { providerSuite } from "./_provider-suite.ts";
import { restartSuite } from "./_restart-suite.ts";
import { startControlPlaneHarness } from "./control-plane-harness.ts";

/** Nodes added for the crash suite's 500 pods: room for them, too small for compute-huge. */
const BIG_NODE = { cpu: "32", memory: "128Gi", pods: 250 };
const BIG_NODES = 2;
/** The one node with GPUs, for the GPU template: two, as on a small GPU server. */
const GPU_NODE = { extendedResources: { "nvidia.com/gpu": "2" } };

const skip = controlPlaneUnavailable();
if (skip) console.log(`# skipping the suites on the real control plane: ${skip}`);

describe("on the real control plane", { skip: skip ?? false }, () => {
  let controlPlane: SharedControlPlane;
  let gpuNode = "";
  before(async () => {
    controlPlane = await sharedControlPlane();
    for (let n = 0; n < BIG_NODES; n++) await controlPlane.addNode(BIG_NODE);
    gpuNode = await controlPlane.addNode(GPU_NODE);
  });
  const open = (options: Parameters<typeof startControlPlaneHarness>[1] = {}) =>
    startControlPlaneHarness(controlPlane, options);

  providerSuite("the provider", () => open());
  restartSuite("restart", () => open({ sidecar: false }));
  failoverSuite("failover", () => open({ sidecar: false }));
  crashSuite("crash safety", () => open({ sidecar: false, templates: BULK_TEMPLATES }), {
    machines: 500,
    seed: testSeed(),
  });
  fastFailureSuite(
    "GPU templates and fast failure",
    () =>
      open({
        templates: FAST_FAILURE_TEMPLATES,
        flags: { "fail-fast-after": String(FAIL_FAST_AFTER_SECONDS) },
      }),
    { gpuNode: () => gpuNode, checksSecrets: false },
  );
  regressionScenarios("regression scenarios", () => realCluster(controlPlane.kubeconfigPath));
});
