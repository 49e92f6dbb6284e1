// Relist during a burst: while one requestMachines for 5,000 machines is being created at the
// rate limit, the API server ends the sidecar's pod watch and answers its restart 410, so the
// cache must list every pod again, page by page, through the same rate limiter as the creates.
// Measures how long that relist takes, from its first page's turn in the limiter to the last
// page (its backoff before is the reflector's pacing, not measured): the time a leader answers
// from a cache that is not current. Reads have a lane of their own in the limiter, so it should
// not grow with the creates queued beside it.
import { join } from "node:path";
import { startCluster } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";

/** Share of the burst created before the watch is expired: the queue is full by then. */
const EXPIRE_AT_SHARE = 0.1;
/** How often the benchmark looks at the sidecar's cache. */
const POLL_INTERVAL_MS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchRelistInBurst(context: BenchContext): Promise<Figure[]> {
  const size = context.smoke ? 200 : 5_000;
  const section = `relist during a ${size.toLocaleString("en-US")}-machine burst`;
  const relist: Figure = {
    section,
    name: "pod relist, every page (rate-limited)",
    unit: "ms",
    values: [],
  };
  const queued: Figure = {
    section,
    name: "pods not yet created when the relist completed",
    unit: "pods",
    values: [],
  };
  for (let run = 0; run < context.runs; run++) {
    const cluster = await startCluster({
      dir: join(context.dir, `relist-${run}`),
      latencyMs: context.latencyMs,
      qps: context.qps,
      burst: context.burst,
    });
    try {
      const pods = async () =>
        (await cluster.simulator.call("podCounts", { instance: cluster.instance })).pods;
      const requestId = await cluster.requestMachines(size);
      while ((await pods()) < size * EXPIRE_AT_SHARE) await sleep(POLL_INTERVAL_MS);
      const relistsBefore = (await cluster.sidecar.call("stats")).pods.relists;
      await cluster.simulator.call("expireWatches", { resource: "pods" });
      for (;;) {
        const { pods: cache } = await cluster.sidecar.call("stats");
        if (cache.relists > relistsBefore) {
          relist.values.push(cache.lastListMs);
          break;
        }
        await sleep(POLL_INTERVAL_MS);
      }
      queued.values.push(size - (await pods()));
      await cluster.waitSucceeded([requestId]);
      context.log(`${section}: run ${run + 1}: ${Math.round(relist.values[run] ?? 0)} ms`);
    } finally {
      await cluster.stop();
    }
  }
  return [relist, queued];
}
