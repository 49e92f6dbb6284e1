// Burst: one requestMachines for many machines, against an API server that answers every call
// after a fixed latency and starts pods at once. Measures how close pod creation comes to the
// sidecar's configured rate limit, how long until HostFactory sees every machine succeed, and
// that no pod was created twice.
import { join } from "node:path";
import { startCluster } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";
import { wallClockMs } from "./_stats.ts";

/** Issue 6: pods created per second, as a share of the configured rate limit. */
const RATE_TARGET = 0.9;
/** How often HostFactory's part polls for the request's status. */
const POLL_INTERVAL_MS = 100;

export async function benchBurst(context: BenchContext): Promise<Figure[]> {
  const sizes = context.smoke ? [20] : [1_000, 5_000];
  const figures: Figure[] = [];
  for (const size of sizes) {
    const section = `burst ${size.toLocaleString("en-US")}`;
    const created: Figure = { section, name: "all pods created", unit: "s", values: [] };
    const succeeded: Figure = {
      section,
      name: "all machines succeed",
      unit: "s",
      values: [],
    };
    const rate: Figure = {
      section,
      name: `pods created per second (after the burst of ${context.burst})`,
      unit: "pods/s",
      values: [],
    };
    const share: Figure = {
      section,
      name: `share of the rate limit (${context.qps} QPS)`,
      unit: "",
      values: [],
      target: { kind: "min", value: RATE_TARGET },
    };
    const duplicates: Figure = {
      section,
      name: "duplicate creates",
      unit: "pods",
      values: [],
      target: { kind: "max", value: 0 },
    };
    for (let run = 0; run < context.runs; run++) {
      const cluster = await startCluster({
        dir: join(context.dir, `burst-${size}-${run}`),
        latencyMs: context.latencyMs,
        qps: context.qps,
        burst: context.burst,
      });
      try {
        const started = wallClockMs();
        const requestId = await cluster.requestMachines(size);
        await cluster.waitSucceeded([requestId], POLL_INTERVAL_MS);
        const done = wallClockMs();
        const times = await cluster.simulator.call("podTimes", { requestId });
        const createdAt = times.created.sort((a, b) => a - b);
        const last = createdAt[createdAt.length - 1] as number;
        // Pods beyond the burst can only come at the sustained rate.
        const from = size > context.burst ? (createdAt[context.burst - 1] as number) : started;
        const counted = size > context.burst ? size - context.burst : size;
        const perSecond = counted / ((last - from) / 1000);
        const counts = await cluster.simulator.call("podCounts", { instance: cluster.instance });
        if (counts.pods !== size) throw new Error(`${counts.pods} pods exist, ${size} requested`);
        created.values.push((last - started) / 1000);
        succeeded.values.push((done - started) / 1000);
        rate.values.push(perSecond);
        share.values.push(perSecond / context.qps);
        duplicates.values.push(counts.creates - size);
        context.log(`${section}: run ${run + 1}: ${Math.round(perSecond)} pods/s`);
      } finally {
        await cluster.stop();
      }
    }
    figures.push(created, succeeded, rate, share, duplicates);
  }
  return figures;
}
