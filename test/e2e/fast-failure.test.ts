// GPU templates and fast failure on the simulated cluster (the suite: _fast-failure-suite.ts).
import { defaultNodes } from "../../sidecar/simulator/index.ts";
import {
  FAIL_FAST_AFTER_SECONDS,
  FAST_FAILURE_TEMPLATES,
  fastFailureSuite,
} from "./_fast-failure-suite.ts";
import { startHarness } from "./harness.ts";

const GPU_NODE = "gpu-1";

fastFailureSuite(
  "GPU templates and fast failure on the simulated cluster",
  () =>
    startHarness({
      templates: FAST_FAILURE_TEMPLATES,
      flags: { "fail-fast-after": String(FAIL_FAST_AFTER_SECONDS) },
      simulator: {
        nodes: [
          ...defaultNodes(2),
          { name: GPU_NODE, extendedResources: { "nvidia.com/gpu": "2" } },
        ],
      },
    }),
  { gpuNode: () => GPU_NODE, checksSecrets: true },
);
