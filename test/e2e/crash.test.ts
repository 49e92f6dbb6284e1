// Crash safety on the simulated cluster (the suite: _crash-suite.ts).
import { testSeed } from "../tools/seed.ts";
import { BULK_TEMPLATES, crashSuite } from "./_crash-suite.ts";
import { startHarness } from "./harness.ts";

const BIG_NODES = ["node-1", "node-2", "node-3"].map((name) => ({
  name,
  cpu: "64",
  memory: "256Gi",
  pods: 250,
}));

const seed = testSeed();
crashSuite(
  "crash safety on the simulated cluster",
  () =>
    startHarness({
      sidecar: false,
      templates: BULK_TEMPLATES,
      simulator: { seed, nodes: BIG_NODES, podStartDelayMs: 0, podStartJitterMs: 50 },
    }),
  { machines: 500, seed },
);
