// A sidecar killed mid-request, on the simulated cluster (the suite: _restart-suite.ts).
import { restartSuite } from "./_restart-suite.ts";
import { startHarness } from "./harness.ts";

restartSuite("restart on the simulated cluster", () => startHarness({ sidecar: false }));
