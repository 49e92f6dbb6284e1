// Quota-aware capacity on the simulator, whose ResourceQuotas follow kube-apiserver's (see
// test/simulator/quota.test.ts); control-plane-quota.test.ts runs the same suite for real.
import { quotaSuite } from "./_quota-suite.ts";
import { startHarness } from "./harness.ts";

quotaSuite("resource quotas on the simulator", () => startHarness());
