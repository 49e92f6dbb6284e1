// The controller under stress: how many API calls a request costs when every pod create fails
// (an admission webhook down), how many delete calls a return costs, and the sidecar's CPU for a
// burst held back by the rate limit against the same burst unthrottled.
import { join } from "node:path";
import { FULL_PASS_TICK_MS } from "../sidecar/controller/reconciler.ts";
import { type Cluster, startCluster } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";

/** Issue 11: once backed off, a few create calls per machine per minute. */
const FAILING_CALLS_TARGET = 4;
/** Issue 11: one delete call per returned machine. */
const DELETES_TARGET = 1.0;
/** The sidecar's own defaults (sidecar/kube/rate-limiter.ts), for the throttled burst. */
const DEFAULT_QPS = 50;
const DEFAULT_BURST = 100;
/** "Unthrottled": a rate limit no burst here reaches. */
const UNTHROTTLED_QPS = 1_000_000;
const WEBHOOK_DOWN =
  'Internal error occurred: failed calling webhook "pods.policy.example.com": connection refused';
const POLL_INTERVAL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withCluster<T>(
  context: BenchContext,
  name: string,
  limits: { qps: number; burst: number },
  use: (cluster: Cluster) => Promise<T>,
): Promise<T> {
  const cluster = await startCluster({
    dir: join(context.dir, name),
    latencyMs: context.latencyMs,
    ...limits,
  });
  try {
    return await use(cluster);
  } finally {
    await cluster.stop();
  }
}

/** Create calls per machine per minute while every create fails: in the first minute, and in a
 * later window once each machine has backed off to its longest delay. */
async function failingCreates(context: BenchContext, run: number) {
  const machines = context.smoke ? 2 : 10;
  const firstMs = context.smoke ? 1_000 : 60_000;
  const laterMs = context.smoke ? 2_000 : 60_000;
  return withCluster(context, `failing-${run}`, context, async (cluster) => {
    await cluster.simulator.call("failPodCreates", { message: WEBHOOK_DOWN });
    const creates = async () =>
      (await cluster.simulator.call("podCounts", { instance: cluster.instance })).creates;
    const before = await creates();
    await cluster.requestMachines(machines);
    await sleep(firstMs);
    const afterFirst = await creates();
    await sleep(laterMs);
    const afterLater = await creates();
    const perMachineMinute = (calls: number, ms: number) => (calls / machines) * (60_000 / ms);
    return {
      first: perMachineMinute(afterFirst - before, firstMs),
      later: perMachineMinute(afterLater - afterFirst, laterMs),
    };
  });
}

/** Delete calls per machine for returning every machine of a request. */
async function returnAll(context: BenchContext, run: number): Promise<number> {
  const machines = context.smoke ? 10 : 500;
  return withCluster(context, `return-${run}`, context, async (cluster) => {
    const requestId = await cluster.requestMachines(machines);
    await cluster.waitSucceeded([requestId], POLL_INTERVAL_MS);
    const { requests } = await cluster.call("getRequestStatus", { requestIds: [requestId] });
    const names = (requests[0]?.machines ?? []).map(({ name, machineId }) => ({
      name,
      machineId,
    }));
    const counts = () => cluster.simulator.call("podCounts", { instance: cluster.instance });
    const before = (await counts()).deletes;
    await cluster.call("requestReturnMachines", { machines: names });
    for (;;) {
      const now = await counts();
      if (now.pods === 0) return (now.deletes - before) / machines;
      await sleep(POLL_INTERVAL_MS);
    }
  });
}

/**
 * Sidecar CPU seconds, and reconciler passes, from requestMachines until every pod is Ready and
 * the sidecar has had a tick to record it. Readiness is asked of the simulator, not the sidecar: polling the sidecar
 * would add CPU that grows with the burst's duration for a reason other than the controller.
 */
async function burstCpu(
  context: BenchContext,
  name: string,
  limits: { qps: number; burst: number },
): Promise<{ cpu: number; passes: number }> {
  const machines = context.smoke ? 20 : 500;
  return withCluster(context, name, limits, async (cluster) => {
    const before = await cluster.sidecar.call("cpu");
    const passesBefore = (await cluster.sidecar.call("stats")).reconciler.passes;
    const requestId = await cluster.requestMachines(machines);
    for (;;) {
      const { ready } = await cluster.simulator.call("podTimes", { requestId });
      if (ready.filter(Number.isFinite).length === machines) break;
      await sleep(POLL_INTERVAL_MS);
    }
    await sleep(FULL_PASS_TICK_MS);
    const cpu = ((await cluster.sidecar.call("cpu")) - before) / 1e6;
    const passes = (await cluster.sidecar.call("stats")).reconciler.passes - passesBefore;
    return { cpu, passes };
  });
}

export async function benchController(context: BenchContext): Promise<Figure[]> {
  const failing = "controller: every pod create fails";
  const firstMinute: Figure = {
    section: failing,
    name: "create calls per machine, first minute",
    unit: "calls",
    values: [],
  };
  const backedOff: Figure = {
    section: failing,
    name: "create calls per machine per minute, backed off",
    unit: "calls",
    values: [],
    target: { kind: "max", value: FAILING_CALLS_TARGET },
  };
  const deletes: Figure = {
    section: "controller: return every machine",
    name: "delete calls per returned machine",
    unit: "calls",
    values: [],
    target: { kind: "max", value: DELETES_TARGET },
  };
  const burst = `controller: burst of ${context.smoke ? 20 : 500}`;
  const throttled: Figure = {
    section: burst,
    name: `sidecar CPU, at the default rate limit (${DEFAULT_QPS} QPS)`,
    unit: "s",
    values: [],
  };
  const unthrottled: Figure = {
    section: burst,
    name: "sidecar CPU, unthrottled",
    unit: "s",
    values: [],
  };
  const throttledPasses: Figure = {
    section: burst,
    name: `reconciler passes, at the default rate limit (${DEFAULT_QPS} QPS)`,
    unit: "passes",
    values: [],
  };
  const unthrottledPasses: Figure = {
    section: burst,
    name: "reconciler passes, unthrottled",
    unit: "passes",
    values: [],
  };
  for (let run = 0; run < context.runs; run++) {
    const calls = await failingCreates(context, run);
    firstMinute.values.push(calls.first);
    backedOff.values.push(calls.later);
    context.log(`${failing}: run ${run + 1}: ${calls.later.toFixed(1)} calls/machine/minute`);
    deletes.values.push(await returnAll(context, run));
    const slow = await burstCpu(context, `throttled-${run}`, {
      qps: DEFAULT_QPS,
      burst: DEFAULT_BURST,
    });
    const fast = await burstCpu(context, `unthrottled-${run}`, {
      qps: UNTHROTTLED_QPS,
      burst: DEFAULT_BURST,
    });
    throttled.values.push(slow.cpu);
    unthrottled.values.push(fast.cpu);
    throttledPasses.values.push(slow.passes);
    unthrottledPasses.values.push(fast.passes);
  }
  return [
    firstMinute,
    backedOff,
    deletes,
    throttled,
    unthrottled,
    throttledPasses,
    unthrottledPasses,
  ];
}
