// Leader failover on the simulated cluster (the suite: _failover-suite.ts).
import { failoverSuite } from "./_failover-suite.ts";
import { startHarness } from "./harness.ts";

failoverSuite("failover on the simulated cluster", () => startHarness({ sidecar: false }));
