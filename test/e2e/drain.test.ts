// Cooperative drains on the simulator, whose Eviction API applies PodDisruptionBudgets as
// kube-apiserver does (test/simulator/disruption-budget.test.ts); control-plane-drain.test.ts runs
// the same suite for real.
import { DRAIN_POOL, DRAIN_TEMPLATES, drainSuite } from "./_drain-suite.ts";
import { type Harness, startHarness } from "./harness.ts";

let harness: Harness | undefined;
drainSuite("cooperative drains on the simulator", {
  async open() {
    harness = await startHarness({ templates: DRAIN_TEMPLATES, flags: { "watch-nodes": true } });
    return harness;
  },
  async addPoolNode() {
    const name = "drains-1";
    harness?.simulator.cluster.addNode({
      name,
      labels: { [DRAIN_POOL.key]: DRAIN_POOL.value },
      taints: [{ key: DRAIN_POOL.key, value: DRAIN_POOL.value, effect: "NoSchedule" }],
    });
    return name;
  },
  async removeNode() {},
});
