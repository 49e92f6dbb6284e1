// One sidecar growing to ten thousand live machines: its memory on the way (footprint), how fast
// it answers HostFactory's polls at that size (server side and through the scripts), gRPC
// throughput, and the CPU its caches spend absorbing a steady stream of pod updates.
import { join } from "node:path";
import { podName } from "../sidecar/provider/naming.ts";
import { type Cluster, startCluster } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";
import { median, percentile } from "./_stats.ts";

/** Issue 6 targets. */
const RSS_TARGET_MB = 150;
const STATUS_P99_TARGET_MS = 5;
const SCRIPT_DELTA_TARGET_MS = 10;
const CHURN_CPU_TARGET = 0.2;

const MB = 1024 * 1024;
/**
 * V8 flags that keep the heap near what is live: a small young generation, and an old
 * generation limit that makes V8 collect before it grows. Measured beside the defaults to show
 * what they would change in the container image.
 */
const TUNED_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=256"];
const CONCURRENCIES = [1, 16, 64];

interface Sizes {
  /** The one large request that polls are timed on. */
  large: number;
  /** Further requests, and machines in each. */
  others: number;
  perOther: number;
  /** Machines sent to getReturnRequests. */
  returnInput: number;
  serverSamples: number;
  scriptRounds: number;
  throughputMs: number;
  churnPerSecond: number;
  churnMs: number;
}

const FULL: Sizes = {
  large: 1_000,
  others: 99,
  perOther: 91,
  returnInput: 10_000,
  serverSamples: 300,
  scriptRounds: 15,
  throughputMs: 3_000,
  churnPerSecond: 1_000,
  churnMs: 5_000,
};
const SMOKE: Sizes = {
  large: 10,
  others: 3,
  perOther: 3,
  returnInput: 20,
  serverSamples: 5,
  scriptRounds: 2,
  throughputMs: 200,
  churnPerSecond: 100,
  churnMs: 500,
};

export async function benchAtScale(context: BenchContext): Promise<Figure[]> {
  const sizes = context.smoke ? SMOKE : FULL;
  const total = sizes.large + sizes.others * sizes.perOther;
  const label = (n: number) => n.toLocaleString("en-US");
  const figures = new Map<string, Figure>();
  const record = (
    section: string,
    name: string,
    unit: string,
    value: number,
    target?: Figure["target"],
  ) => {
    const key = `${section}\u0000${name}`;
    let found = figures.get(key);
    if (!found) {
      found = { section, name, unit, values: [], target };
      figures.set(key, found);
    }
    found.values.push(value);
  };

  for (let run = 0; run < context.runs; run++) {
    const cluster = await startCluster({
      dir: join(context.dir, `at-scale-${run}`),
      latencyMs: context.latencyMs,
      // Growing to the full size is set-up here, not what is measured: no need to wait on a limit.
      qps: context.setupQps,
      burst: context.setupQps,
    });
    try {
      const memory = async () => (await cluster.sidecar.call("memory")) as NodeJS.MemoryUsage;
      const footprint = "footprint";
      const empty = await memory();
      record(footprint, "RSS, 0 machines", "MB", empty.rss / MB);
      record(footprint, "heap used, 0 machines", "MB", empty.heapUsed / MB);

      const large = await cluster.requestMachines(sizes.large);
      await cluster.waitSucceeded([large], 250);
      const atLarge = await memory();
      record(footprint, `RSS, ${label(sizes.large)} machines`, "MB", atLarge.rss / MB);
      record(footprint, `heap used, ${label(sizes.large)} machines`, "MB", atLarge.heapUsed / MB);

      const others: string[] = [];
      for (let i = 0; i < sizes.others; i++)
        others.push(await cluster.requestMachines(sizes.perOther));
      await cluster.waitSucceeded(others, 500);
      const full = await memory();
      const ids = [large, ...others];
      record(footprint, `RSS, ${label(total)} machines`, "MB", full.rss / MB, {
        kind: "max",
        value: RSS_TARGET_MB,
      });
      record(footprint, `heap used, ${label(total)} machines`, "MB", full.heapUsed / MB);
      record(footprint, "heap per machine", "bytes", (full.heapUsed - empty.heapUsed) / total);
      record(footprint, "RSS per machine", "bytes", (full.rss - empty.rss) / total);
      context.log(`at scale: run ${run + 1}: ${label(total)} machines live`);

      const polling = `polling, ${label(total)} machines in ${ids.length} requests`;
      const inSidecar = await cluster.sidecar.call("timeGetRequestStatus", {
        requestIds: [large],
        samples: sizes.serverSamples,
      });
      record(
        polling,
        `getRequestStatus ${label(sizes.large)} machines, in sidecar, p50`,
        "ms",
        median(inSidecar),
      );
      record(
        polling,
        `getRequestStatus ${label(sizes.large)} machines, in sidecar, p99`,
        "ms",
        percentile(inSidecar, 99),
        { kind: "max", value: STATUS_P99_TARGET_MS },
      );
      const allInSidecar = await cluster.sidecar.call("timeGetRequestStatus", {
        requestIds: ids,
        samples: Math.max(3, Math.round(sizes.serverSamples / 10)),
      });
      record(
        polling,
        `getRequestStatus all ${ids.length} requests, in sidecar, p50`,
        "ms",
        median(allInSidecar),
      );

      const returning = Array.from({ length: sizes.returnInput }, (_, i) => ({
        name: podName(
          "hf",
          others[i % others.length] as string,
          Math.floor(i / others.length) % sizes.perOther,
        ),
        machineId: "",
      }));
      const returnsInSidecar = await cluster.sidecar.call("timeGetReturnRequests", {
        machines: returning,
        samples: Math.max(3, Math.round(sizes.serverSamples / 10)),
      });
      record(
        polling,
        `getReturnRequests ${label(sizes.returnInput)} machines, in sidecar, p50`,
        "ms",
        median(returnsInSidecar),
      );

      const largeFile = cluster.inputFile("status-large", { requests: [{ requestId: large }] });
      const unknownFile = cluster.inputFile("status-unknown", {
        requests: [{ requestId: "req-0000000000" }],
      });
      const returnFile = cluster.inputFile("return-requests", { machines: returning });
      for (const file of [largeFile, unknownFile]) await cluster.script("getRequestStatus", file);
      await cluster.script("getReturnRequests", returnFile);
      const largeRuns: number[] = [];
      const unknownRuns: number[] = [];
      const returnRuns: number[] = [];
      for (let round = 0; round < sizes.scriptRounds; round++) {
        unknownRuns.push((await cluster.script("getRequestStatus", unknownFile)).ms);
        largeRuns.push((await cluster.script("getRequestStatus", largeFile)).ms);
        returnRuns.push((await cluster.script("getReturnRequests", returnFile)).ms);
      }
      record(polling, "getRequestStatus.sh, no machines, p50", "ms", median(unknownRuns));
      record(
        polling,
        `getRequestStatus.sh, ${label(sizes.large)} machines, p50`,
        "ms",
        median(largeRuns),
      );
      record(
        polling,
        `getRequestStatus.sh, ${label(sizes.large)} machines − no machines`,
        "ms",
        median(largeRuns) - median(unknownRuns),
        { kind: "max", value: SCRIPT_DELTA_TARGET_MS },
      );
      record(
        polling,
        `getReturnRequests.sh, ${label(sizes.returnInput)} machines, p50`,
        "ms",
        median(returnRuns),
      );

      const throughput = `gRPC getRequestStatus, ${sizes.perOther} machines`;
      for (const concurrency of CONCURRENCIES) {
        const calls = await callsPerSecond(
          cluster,
          others[0] as string,
          concurrency,
          sizes.throughputMs,
        );
        record(throughput, `concurrency ${concurrency}`, "calls/s", calls);
      }

      const churn = `watch events, ${label(sizes.churnPerSecond)}/s on ${label(total)} pods`;
      for (const change of ["ignored", "projected"] as const) {
        const before = await cluster.sidecar.call("cpu");
        const { seconds, events } = await cluster.simulator.call("churn", {
          instance: cluster.instance,
          perSecond: sizes.churnPerSecond,
          durationMs: sizes.churnMs,
          change,
        });
        // Let the last events reach the sidecar before reading its CPU time.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const used = ((await cluster.sidecar.call("cpu")) - before) / 1e6;
        const what = change === "ignored" ? "updates it does not keep" : "updates it keeps";
        record(churn, `sidecar CPU, ${what}`, "cores", used / (seconds + 0.2), {
          kind: "max",
          value: CHURN_CPU_TARGET,
        });
        context.log(`${churn}: ${change}: ${events} events`);
      }
    } finally {
      await cluster.stop();
    }
  }
  for (let run = 0; run < context.runs; run++) {
    const cluster = await startCluster({
      dir: join(context.dir, `at-scale-tuned-${run}`),
      latencyMs: context.latencyMs,
      qps: context.setupQps,
      burst: context.setupQps,
      sidecarFlags: TUNED_FLAGS,
    });
    try {
      const tuned = `footprint, node ${TUNED_FLAGS.join(" ")}`;
      const empty = (await cluster.sidecar.call("memory")) as NodeJS.MemoryUsage;
      record(tuned, "RSS, 0 machines", "MB", empty.rss / MB);
      const ids = [await cluster.requestMachines(sizes.large)];
      for (let i = 0; i < sizes.others; i++)
        ids.push(await cluster.requestMachines(sizes.perOther));
      await cluster.waitSucceeded(ids, 500);
      const full = (await cluster.sidecar.call("memory")) as NodeJS.MemoryUsage;
      record(tuned, `RSS, ${label(total)} machines`, "MB", full.rss / MB, {
        kind: "max",
        value: RSS_TARGET_MB,
      });
    } finally {
      await cluster.stop();
    }
  }
  return [...figures.values()];
}

/** getRequestStatus calls completed per second with `concurrency` calls always outstanding. */
async function callsPerSecond(
  cluster: Cluster,
  requestId: string,
  concurrency: number,
  durationMs: number,
): Promise<number> {
  const started = performance.now();
  const until = started + durationMs;
  let completed = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await cluster.call("getRequestStatus", { requestIds: [requestId] });
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return completed / ((performance.now() - started) / 1000);
}
