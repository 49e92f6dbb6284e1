// The regression scenarios against the simulated cluster: what CI runs on every change.
import { regressionScenarios } from "./_scenarios.ts";
import { simulatedCluster } from "./_targets.ts";

regressionScenarios("regression scenarios on the simulated cluster", simulatedCluster);
