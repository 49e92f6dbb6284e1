// Prometheus metrics, served on their own HTTP port (--metrics-listen). Counters are bumped where
// things happen; gauges are read from the caches, limiter and elector at scrape time, so they
// cost nothing between scrapes.
import { createServer, type Server } from "node:http";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ClusterState } from "./controller/cluster-state.ts";
import type { ListWatchCache } from "./kube/list-watch.ts";
import type { ApiCall, RateLimiter } from "./kube/rate-limiter.ts";
import type { PodView } from "./provider/model.ts";

const PREFIX = "hostfactory_";
/** From a fast API call to a pod that takes minutes to be scheduled and started. */
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

export interface MetricSources {
  state: ClusterState;
  caches: Record<string, ListWatchCache<unknown> | undefined>;
  limiter: RateLimiter;
  isLeader: () => boolean;
  expectations: () => number;
  retrying: () => number;
  orphans: () => number;
}

export interface Metrics {
  readonly registry: Registry;
  grpcCall(method: string, code: string, seconds: number): void;
  kubeCall(call: ApiCall, seconds: number, outcome: string): void;
  machinesRequested(templateId: string, count: number): void;
  machinesReturned(count: number): void;
  podCreated(templateId: string): void;
  machinesFailed(templateId: string, count: number): void;
  /** A create request HostFactory never asked about was abandoned. */
  requestAbandoned(templateId: string): void;
  templatesReloaded(ok: boolean): void;
  /** Reads gauges from these at scrape time, and times machines from request to running. */
  watch(sources: MetricSources): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });
  const histogram = (name: string, help: string, labelNames: string[]) =>
    new Histogram({
      name: PREFIX + name,
      help,
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });

  const grpcCalls = counter("grpc_calls_total", "gRPC calls served, by method and status code", [
    "method",
    "code",
  ]);
  const grpcSeconds = histogram("grpc_call_duration_seconds", "gRPC call latency", ["method"]);
  const kubeCalls = counter(
    "kube_api_calls_total",
    "Kubernetes API calls, by verb, resource and outcome (ok, or the HTTP status)",
    ["verb", "resource", "code"],
  );
  const kubeSeconds = histogram("kube_api_call_duration_seconds", "Kubernetes API call latency", [
    "verb",
    "resource",
  ]);
  const requested = counter("machines_requested_total", "Machines HostFactory asked for", [
    "template",
  ]);
  const returned = counter("machines_returned_total", "Machines HostFactory returned");
  const created = counter("pods_created_total", "Pods created for machines", ["template"]);
  const failed = counter(
    "machines_failed_total",
    "Machines that failed (rejected, timed out, crashed)",
    ["template"],
  );
  const abandoned = counter(
    "requests_abandoned_total",
    "Create requests HostFactory never asked about, whose machines the leader failed",
    ["template"],
  );
  const reloads = counter("template_reloads_total", "Reloads of the templates file, by result", [
    "result",
  ]);
  const machineLatency = histogram(
    "machine_start_duration_seconds",
    "Time from the request being accepted to its pod being created, and to it running",
    ["stage"],
  );

  return {
    registry,
    grpcCall(method, code, seconds) {
      grpcCalls.inc({ method, code });
      grpcSeconds.observe({ method }, seconds);
    },
    kubeCall(call, seconds, outcome) {
      kubeCalls.inc({ verb: call.verb, resource: call.resource, code: outcome });
      kubeSeconds.observe({ verb: call.verb, resource: call.resource }, seconds);
    },
    machinesRequested: (template, count) => requested.inc({ template }, count),
    machinesReturned: (count) => returned.inc(count),
    podCreated: (template) => created.inc({ template }),
    machinesFailed: (template, count) => failed.inc({ template }, count),
    requestAbandoned: (template) => abandoned.inc({ template }),
    templatesReloaded: (ok) => reloads.inc({ result: ok ? "success" : "failure" }),
    watch(sources) {
      const gauge = (
        name: string,
        help: string,
        labelNames: string[],
        collect: (g: Gauge) => void,
      ) =>
        new Gauge({
          name: PREFIX + name,
          help,
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            collect(this);
          },
        });
      gauge("leader", "1 while this replica holds the Lease and reconciles", [], (g) =>
        g.set(sources.isLeader() ? 1 : 0),
      );
      gauge(
        "machines",
        "Live machines by template and pod phase (Ready pods as Running)",
        ["template", "phase"],
        (g) => {
          for (const pod of sources.state.pods()) {
            const phase = pod.phase === "Running" && !pod.ready ? "Starting" : pod.phase;
            g.inc({ template: pod.templateId, phase });
          }
        },
      );
      gauge("cache_objects", "Objects in each cache", ["cache"], (g) => {
        for (const [cache, c] of Object.entries(sources.caches)) if (c) g.set({ cache }, c.size);
      });
      // Counts kept by the caches, exposed as counters (monotonic since start) so rate() works.
      const cacheCounter = (
        name: string,
        help: string,
        read: (c: ListWatchCache<unknown>) => number,
      ) =>
        new Counter({
          name: PREFIX + name,
          help,
          labelNames: ["cache"],
          registers: [registry],
          collect() {
            this.reset();
            for (const [cache, c] of Object.entries(sources.caches))
              if (c) this.inc({ cache }, read(c));
          },
        });
      cacheCounter(
        "watch_restarts_total",
        "Watch restarts since start, by cache",
        (c) => c.stats.watchRestarts,
      );
      cacheCounter(
        "relists_total",
        "Relists (after 410 Expired or errors) since start, by cache",
        (c) => c.stats.relists,
      );
      gauge(
        "kube_api_queue",
        "Kubernetes API calls waiting for the rate limiter, and in flight",
        ["state"],
        (g) => {
          g.set({ state: "waiting" }, sources.limiter.stats.waiting);
          g.set({ state: "in_flight" }, sources.limiter.stats.inFlight);
        },
      );
      gauge(
        "reconciler_expectations",
        "Pod creates and deletes issued and not yet seen in the cache",
        [],
        (g) => g.set(sources.expectations()),
      );
      gauge(
        "reconciler_retrying",
        "Pods whose create or delete failed and is retried with backoff",
        [],
        (g) => g.set(sources.retrying()),
      );
      gauge("orphan_pods", "Our pods that belong to no request", [], (g) =>
        g.set(sources.orphans()),
      );

      const pods = sources.caches.pods as ListWatchCache<PodView> | undefined;
      pods?.subscribe(({ type, item, previous }) => {
        if (!sources.isLeader() || type === "DELETED") return;
        const record = sources.state.record(item.requestId);
        if (!record) return;
        const since = (Date.now() - record.createdAt) / 1000;
        if (type === "ADDED") machineLatency.observe({ stage: "created" }, since);
        const running = item.phase === "Running" && item.ready;
        if (running && !(previous?.phase === "Running" && previous.ready)) {
          machineLatency.observe({ stage: "running" }, since);
        }
      });
    },
  };
}

/** Serves GET /metrics; resolves with the bound address. */
export async function startMetricsServer(
  metrics: Metrics,
  listen: string,
): Promise<{ address: string; server: Server }> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404).end("not found: metrics are at /metrics\n");
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
  });
  const match = /^(.*):(\d+)$/.exec(listen);
  if (!match) throw new Error(`metrics-listen: expected host:port, found '${listen}'`);
  const [, bracketed, port] = match;
  // "[::]:9090" names the IPv6 host "::", as in a URL.
  const host = bracketed?.replace(/^\[(.*)\]$/, "$1");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(port), host || "0.0.0.0", () => resolve());
  });
  const bound = server.address();
  const address =
    typeof bound === "object" && bound ? `${host || "0.0.0.0"}:${bound.port}` : listen;
  return { address, server };
}
