// The provider end to end on the simulated cluster (the suite: _provider-suite.ts).
import { providerSuite } from "./_provider-suite.ts";
import { startHarness } from "./harness.ts";

providerSuite("the provider on the simulated cluster", () => startHarness(), { slowStart: true });
