// Script round trip: each HostFactory script end to end (sh → client → gRPC → sidecar → JSON on
// stdout), timed side by side with a bare `node -e 0` in the same rounds, so the ratio holds
// however busy the machine is.
import { join } from "node:path";
import { podName } from "../sidecar/provider/naming.ts";
import { startCluster, TEMPLATE_ID } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";
import { median } from "./_stats.ts";

const SECTION = "script round trip";
/**
 * A script takes at most this many times a bare Node start (issue 12: the client on node:http2,
 * whose loading costs a few milliseconds a call more than the hand-written HTTP/2 it replaced).
 */
const RATIO_TARGET = 2;
const OPERATIONS = [
  "getAvailableTemplates",
  "requestMachines",
  "requestReturnMachines",
  "getRequestStatus",
  "getReturnRequests",
] as const;

/** The requests the scripts' input files make, for the same call from a connected client. */
const REQUESTS = {
  getAvailableTemplates: () => ({}),
  requestMachines: () => ({ templateId: TEMPLATE_ID, machineCount: 1, rcAccount: "" }),
  requestReturnMachines: (requestId: string) => ({
    machines: [{ name: podName("hf", requestId, 0), machineId: "" }],
  }),
  getRequestStatus: (requestId: string) => ({ requestIds: [requestId] }),
  getReturnRequests: (requestId: string) => ({
    machines: [0, 1, 2, 3].map((index) => ({
      name: podName("hf", requestId, index),
      machineId: "",
    })),
  }),
} satisfies Record<(typeof OPERATIONS)[number], (requestId: string) => object>;

export async function benchScriptRoundTrip(context: BenchContext): Promise<Figure[]> {
  const rounds = context.smoke ? 2 : 25;
  const cluster = await startCluster({
    dir: join(context.dir, "round-trip"),
    latencyMs: context.latencyMs,
    qps: context.qps,
    burst: context.burst,
  });
  try {
    const requestId = await cluster.requestMachines(4);
    await cluster.waitSucceeded([requestId]);
    const machines = [0, 1, 2, 3].map((index) => ({ name: podName("hf", requestId, index) }));
    const files: Record<(typeof OPERATIONS)[number], string> = {
      getAvailableTemplates: cluster.inputFile("templates", {}),
      requestMachines: cluster.inputFile("request", {
        template: { templateId: TEMPLATE_ID, machineCount: 1 },
      }),
      requestReturnMachines: cluster.inputFile("return", { machines: machines.slice(0, 1) }),
      getRequestStatus: cluster.inputFile("status", { requests: [{ requestId }] }),
      getReturnRequests: cluster.inputFile("return-requests", { machines }),
    };
    // The first runs fill Node's compile cache, as the first HostFactory calls of a day do.
    for (const operation of OPERATIONS) await cluster.script(operation, files[operation]);

    const figures = new Map<string, Figure>();
    const figure = (name: string, unit: string, target?: Figure["target"]) => {
      let found = figures.get(name);
      if (!found) {
        found = { section: SECTION, name, unit, values: [], target };
        figures.set(name, found);
      }
      return found;
    };
    for (let run = 0; run < context.runs; run++) {
      const baseline: number[] = [];
      const scripts = new Map<string, number[]>(OPERATIONS.map((op) => [op, []]));
      const calls = new Map<string, number[]>(OPERATIONS.map((op) => [op, []]));
      for (let round = 0; round < rounds; round++) {
        baseline.push((await context.bareNode()).ms);
        for (const operation of OPERATIONS) {
          scripts.get(operation)?.push((await cluster.script(operation, files[operation])).ms);
          const started = performance.now();
          await cluster.call(operation, REQUESTS[operation](requestId));
          calls.get(operation)?.push(performance.now() - started);
        }
      }
      const base = median(baseline);
      figure("node -e 0 (baseline), p50", "ms").values.push(base);
      for (const operation of OPERATIONS) {
        const p50 = median(scripts.get(operation) ?? []);
        figure(`${operation}.sh, p50`, "ms").values.push(p50);
        figure(`${operation} from a connected gRPC client, p50`, "ms").values.push(
          median(calls.get(operation) ?? []),
        );
        figure(`${operation}.sh ÷ node -e 0`, "×", {
          kind: "max",
          value: RATIO_TARGET,
        }).values.push(p50 / base);
      }
      context.log(`${SECTION}: run ${run + 1} done`);
    }
    return [...figures.values()];
  } finally {
    await cluster.stop();
  }
}
