// The regression scenarios against the simulated cluster: what CI runs on every change, with the
// same scenarios on the real control plane (test/e2e/control-plane.test.ts).
import { regressionScenarios } from "./_scenarios.ts";
import { simulatedCluster } from "./_targets.ts";

regressionScenarios("regression scenarios on the simulated cluster", simulatedCluster);
