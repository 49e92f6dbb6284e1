import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAdminHandler } from "./admin-endpoint.ts";
import { type ApiServer, startApiServer } from "./api-server.ts";
import { type AccessRule, type Authorization, createAuthorization } from "./authorization.ts";
import { type Cluster, createCluster } from "./cluster.ts";
import { type Counters, createCounters } from "./counters.ts";
import { createEventLog, type EventLog } from "./event-log.ts";
import { createEventRecorder } from "./event-recorder.ts";
import { createFaults, type Faults } from "./faults.ts";
import { createGarbageCollector } from "./garbage-collector.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { createKubelets } from "./kubelet.ts";
import { createNamespaceController } from "./namespace-controller.ts";
import { defaultNodes, type NodeSpec } from "./node-factory.ts";
import { createNodeLifecycle } from "./node-lifecycle.ts";
import { createNodeUsage } from "./node-usage.ts";
import { createRandomStreams } from "./random.ts";
import { createResourceQuotas } from "./resource-quota.ts";
import { NAMESPACES } from "./resources.ts";
import { createRestApi, type RestApi } from "./rest-api.ts";
import { createScheduler } from "./scheduler.ts";
import { createStore, type Store } from "./store.ts";
import { createTimeline } from "./timeline.ts";
import type { WatchStats } from "./watch-connection.ts";

export interface SimulatorOptions {
  /** Interface to listen on; default "127.0.0.1" (loopback only). */
  host?: string;
  /** Port; default 0 (an ephemeral port, see `url`). */
  port?: number;
  /** Nodes to start with; default DEFAULT_NODES (3 nodes of 8 cpu, 32Gi, 110 pods). */
  nodes?: NodeSpec[];
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** Delay from a pod's binding to Running and Ready; default 200 ms. */
  podStartDelayMs?: number;
  /** Uniform jitter (±) on the start delay; default 100 ms. */
  podStartJitterMs?: number;
  /**
   * How long containers take to exit on SIGTERM; default undefined: they ignore it, and a
   * graceful deletion completes only when the grace period runs out (with exit code 137).
   */
  podStopDelayMs?: number;
  /** Events retained per resource for watch resume and consistent list pages; default 10,000. */
  historyWindow?: number;
  /** Interval of BOOKMARK events on watches that allow them; default 10,000 ms. */
  bookmarkIntervalMs?: number;
  /** tolerationSeconds of the not-ready/unreachable tolerations every pod gets; default 300. */
  defaultTolerationSeconds?: number;
  /** Write core/v1 Events for scheduling and kubelet actions; default true. */
  recordEvents?: boolean;
  /** Makes faults, jitter, uids and generateName suffixes repeatable; default: random. */
  seed?: number;
  /** Requests to refuse with 403 (and to report as not allowed); default: none. */
  denials?: AccessRule[];
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_POD_START_DELAY_MS = 200;
export const DEFAULT_POD_START_JITTER_MS = 100;
export const DEFAULT_HISTORY_WINDOW = 10_000;
export const DEFAULT_BOOKMARK_INTERVAL_MS = 10_000;
export const DEFAULT_TOLERATION_SECONDS = 300;
export const DEFAULT_NODES: readonly NodeSpec[] = defaultNodes(3);
/** Namespaces every cluster has. */
const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** A running Kubernetes API simulator; see README.md beside this file. */
export interface Simulator {
  /** "http://127.0.0.1:PORT". */
  readonly url: string;
  /** A kubeconfig for this simulator (plain HTTP, any bearer token accepted). */
  readonly kubeconfigYaml: string;
  /** Writes the kubeconfig (default: a fresh file in the temp dir); returns its path. */
  writeKubeconfig(path?: string): Promise<string>;
  /** Ground truth: the stored objects; direct writes reach watchers like API writes. */
  readonly store: Store;
  /** The API's REST semantics, in process (what the HTTP layer calls). */
  readonly api: RestApi;
  /** Nodes, the scheduler and the kubelets. */
  readonly cluster: Cluster;
  readonly faults: Faults;
  /** Denials: permissions taken away from the simulator's one user. */
  readonly authorization: Authorization;
  readonly counters: Counters;
  readonly eventLog: EventLog;
  /** Open watch connections, of one resource or all. */
  watchCount(resource?: string): number;
  /** Lines rendered by all watches vs. lines delivered: fan-out shares one rendering per event. */
  watchStats(): WatchStats;
  close(): Promise<void>;
}

export async function createSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const now = () => new Date();
  const random = createRandomStreams(options.seed);
  const eventLog = createEventLog(now);
  const store = createStore({
    historyWindow: options.historyWindow ?? DEFAULT_HISTORY_WINDOW,
    random: random("store"),
    now,
  });
  const quotas = createResourceQuotas(store);
  const api = createRestApi({
    store,
    random: random("api"),
    now,
    defaultTolerationSeconds: options.defaultTolerationSeconds ?? DEFAULT_TOLERATION_SECONDS,
    admitPod: quotas.admitPod,
  });
  const timeline = createTimeline();
  const usage = createNodeUsage(store);
  const recorder =
    options.recordEvents === false ? undefined : createEventRecorder(store, random("events"), now);
  const scheduler = createScheduler({
    store,
    usage,
    recorder,
    log: eventLog,
    random: random("scheduler"),
    now,
  });
  const kubelets = createKubelets({
    store,
    api,
    usage,
    timeline,
    recorder,
    log: eventLog,
    random: random("kubelets"),
    now,
    podStartDelayMs: options.podStartDelayMs ?? DEFAULT_POD_START_DELAY_MS,
    podStartJitterMs: options.podStartJitterMs ?? DEFAULT_POD_START_JITTER_MS,
    podStopDelayMs: options.podStopDelayMs,
  });
  createNodeLifecycle({ store, api, kubelets, timeline, log: eventLog, now });
  createNamespaceController(store, api);
  createGarbageCollector(store, api);
  const cluster = createCluster({
    store,
    api,
    scheduler,
    kubelets,
    usage,
    timeline,
    log: eventLog,
    now,
  });
  const counters = createCounters();
  const authorization = createAuthorization(options.denials);

  for (const name of new Set([...SYSTEM_NAMESPACES, ...(options.namespaces ?? [])])) {
    api.create(NAMESPACES, "", { metadata: { name } });
  }
  for (const node of options.nodes ?? DEFAULT_NODES) cluster.addNode(node);

  let faults: Faults | undefined;
  const server: ApiServer = await startApiServer({
    host: options.host ?? DEFAULT_HOST,
    port: options.port ?? 0,
    store,
    api,
    counters,
    log: eventLog,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
    faults: () => faults,
    authorization,
    admin: (...args) => admin(...args),
  });
  faults = createFaults({
    random: random("faults"),
    log: eventLog,
    targets: {
      endWatches: (how, resource) => server.endWatches(how, resource),
      setWatchesStalled: (stalled) => server.setWatchesStalled(stalled),
      compactHistory: () => store.compact(),
      async restart({ downtimeMs = 0, keepHistory = false }) {
        if (!keepHistory) store.compact();
        await server.restart(downtimeMs);
      },
    },
  });
  const admin = createAdminHandler({ faults, authorization, cluster, counters, log: eventLog });
  const kubeconfig = kubeconfigYaml(server.url);
  let closed = false;

  return {
    url: server.url,
    kubeconfigYaml: kubeconfig,
    async writeKubeconfig(path) {
      const target = path ?? join(tmpdir(), `hostfactory-simulator-${server.port}.kubeconfig`);
      await writeFile(target, kubeconfig, { mode: 0o600 });
      return target;
    },
    store,
    api,
    cluster,
    faults,
    authorization,
    counters,
    eventLog,
    watchCount: (resource) => server.watchCount(resource),
    watchStats: () => ({ ...server.watchStats }),
    async close() {
      if (closed) return;
      closed = true;
      faults?.clear();
      timeline.clear();
      await server.close();
    },
  };
}
