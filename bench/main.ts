// `npm run bench`: the provider's performance against the API simulator and, when its binaries
// can be had, the real control plane, as one table (printed) and a JSON file with the same numbers
// (bench/results/). `npm run bench:smoke` runs every simulator benchmark at a tiny size in
// seconds, so that CI keeps the benchmark code working.
//
// Options: --smoke, --runs N (default 3), --latency-ms N (simulated API latency, default 5),
// --qps N and --burst N (the sidecar's API rate limit, default 200 and 100), --only NAMES
// (comma-separated: round-trip, burst, relist, at-scale, controller, control-plane), --out FILE.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { runTimed } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import { type Figure, machineDescription, renderTable, summarise } from "./_report.ts";
import { benchAtScale } from "./at-scale.ts";
import { benchBurst } from "./burst.ts";
import { benchControlPlaneBurst } from "./control-plane-burst.ts";
import { benchController } from "./controller.ts";
import { benchRelistInBurst } from "./relist-in-burst.ts";
import { benchScriptRoundTrip } from "./script-round-trip.ts";

const BENCHMARKS = {
  "round-trip": benchScriptRoundTrip,
  burst: benchBurst,
  relist: benchRelistInBurst,
  "at-scale": benchAtScale,
  controller: benchController,
  "control-plane": benchControlPlaneBurst,
} satisfies Record<string, (context: BenchContext) => Promise<Figure[]>>;

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    runs: { type: "string" },
    "latency-ms": { type: "string", default: "5" },
    qps: { type: "string", default: "200" },
    burst: { type: "string", default: "100" },
    only: { type: "string" },
    out: { type: "string" },
  },
});
const positive = (name: string, text: string | undefined): number => {
  const value = Number(text);
  if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`--${name} must be a number ≥ 0`);
  return value;
};
/** Too slow for a smoke run (it boots a control plane); `--smoke --only control-plane` runs it. */
const NOT_IN_SMOKE = new Set(["control-plane"]);
const only =
  values.only?.split(",") ??
  Object.keys(BENCHMARKS).filter((name) => !(values.smoke && NOT_IN_SMOKE.has(name)));
for (const name of only) {
  if (!(name in BENCHMARKS)) throw new Error(`--only: unknown benchmark ${name}`);
}

/**
 * Ahead of other work on a shared machine: the benchmark's processes (this one, the simulator,
 * the sidecar, the scripts and their baseline, which all inherit it) compete with one another
 * as in production, not with unrelated jobs. Needs the right to raise priority; without it the
 * figures are only noisier.
 */
const NICE = -10;
try {
  setPriority(NICE);
} catch {
  process.stderr.write(
    `(cannot raise this process's priority to nice ${NICE}; figures may be noisier)\n`,
  );
}

const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), "hostfactory-bench-"));
const context: BenchContext = {
  smoke: values.smoke,
  runs: positive("runs", values.runs ?? (values.smoke ? "1" : "3")),
  latencyMs: positive("latency-ms", values["latency-ms"]),
  qps: positive("qps", values.qps),
  burst: positive("burst", values.burst),
  setupQps: 2_000,
  dir,
  bareNode: () => runTimed(process.execPath, ["-e", "0"]),
  log: (message) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    process.stderr.write(`[${seconds}s] ${message}\n`);
  },
};

const figures: Figure[] = [];
try {
  for (const name of only) {
    context.log(`${name}…`);
    figures.push(...(await BENCHMARKS[name as keyof typeof BENCHMARKS](context)));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const summaries = figures.map(summarise);
const machine = machineDescription();
const durationS = (performance.now() - started) / 1000;
process.stdout.write(
  `\n${renderTable(summaries, context.runs)}\n\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; ` +
    `API latency ${context.latencyMs} ms, rate limit ${context.qps} QPS (burst ${context.burst}); ${Math.round(durationS)} s\n`,
);

const out =
  values.out ??
  join(
    import.meta.dirname,
    "results",
    `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  );
mkdirSync(dirname(out), { recursive: true });
const { dir: _scratch, bareNode: _bareNode, log: _log, ...settings } = context;
writeFileSync(
  out,
  `${JSON.stringify({ machine, settings, durationS, figures: summaries }, null, 2)}\n`,
);
process.stderr.write(`results: ${out}\n`);
