// One sidecar, wired: caches, templates, the gRPC server, leader election and the reconciler.
// main.ts runs it as a process; tests start it in-process against the simulator.
import * as grpc from "@grpc/grpc-js";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Config } from "./config.ts";
import { createAbandonedRequests } from "./controller/abandoned-requests.ts";
import { createAdmitter } from "./controller/admission.ts";
import { type ClusterState, createClusterState } from "./controller/cluster-state.ts";
import { createDisruptionBudgetKeeper } from "./controller/disruption-budget-keeper.ts";
import {
  createReconciler,
  type Reconciler,
  type ReconcilerHooks,
} from "./controller/reconciler.ts";
import { createAdminHandlers } from "./grpc/admin-service.ts";
import { createProviderService, type ProviderService } from "./grpc/provider-service.ts";
import { createGrpcServer, SERVICE_NAME } from "./grpc/server.ts";
import { connectCluster } from "./kube/cluster.ts";
import type { EventSink } from "./kube/event-sink.ts";
import { createLeaderElector, type LeaderElector } from "./kube/leader-election.ts";
import { createListWatchCache, type ListWatchCache } from "./kube/list-watch.ts";
import { projectNode } from "./kube/node-view.ts";
import { projectPod } from "./kube/pod-view.ts";
import { projectQuota } from "./kube/quota-view.ts";
import { createRateLimiter } from "./kube/rate-limiter.ts";
import { replicaIdentity } from "./kube/replica-identity.ts";
import { createMetrics, type Metrics, startMetricsServer } from "./metrics.ts";
import { parseReasons } from "./provider/fast-failure.ts";
import {
  LABEL_INSTANCE,
  LABEL_RECORD_KIND,
  type NodeView,
  type PodView,
  type RequestRecord,
} from "./provider/model.ts";
import type { QuotaView } from "./provider/quota.ts";
import { parseRecord } from "./provider/records.ts";
import { createTemplatesSource } from "./templates-source.ts";

/** How long in-flight gRPC calls may take to finish at shutdown. */
export const SHUTDOWN_GRACE_MS = 10_000;

export interface Sidecar {
  /** The address it serves on, e.g. unix:///tmp/hostfactory-k8s.sock or 127.0.0.1:50051. */
  readonly address: string;
  readonly identity: string;
  readonly state: ClusterState;
  readonly reconciler: Reconciler;
  readonly elector: LeaderElector | undefined;
  readonly caches: {
    pods: ListWatchCache<PodView>;
    records: ListWatchCache<RequestRecord>;
    nodes: ListWatchCache<NodeView> | undefined;
    quotas: ListWatchCache<QuotaView> | undefined;
  };
  /** Where metrics and the plain health service are served, when they are. */
  readonly metricsAddress: string | undefined;
  readonly healthAddress: string | undefined;
  /** Stops accepting calls, finishes in-flight ones, stops reconciling, releases the Lease. */
  stop(): Promise<void>;
}

function serverCredentials(config: Config, logger: Logger): grpc.ServerCredentials {
  if (config.listen.startsWith("unix:")) return grpc.ServerCredentials.createInsecure();
  if (config.tlsCert && config.tlsKey) {
    // Certificates are re-read as they change (cert-manager renews them in place).
    const refreshIntervalMs = config.tlsReloadInterval * 1000;
    const identity = new grpc.experimental.FileWatcherCertificateProvider({
      certificateFile: config.tlsCert,
      privateKeyFile: config.tlsKey,
      refreshIntervalMs,
    });
    const clientCa = config.tlsClientCa
      ? new grpc.experimental.FileWatcherCertificateProvider({
          caCertificateFile: config.tlsClientCa,
          refreshIntervalMs,
        })
      : null;
    // grpc-js declares the parameters as (ca, identity, …) but reads them as (identity, ca, …).
    const create = grpc.experimental.createCertificateProviderServerCredentials as unknown as (
      identity: grpc.experimental.CertificateProvider,
      ca: grpc.experimental.CertificateProvider | null,
      requireClientCertificate: boolean,
    ) => grpc.ServerCredentials;
    return create(identity, clientCa, clientCa !== null);
  }
  logger.warn(
    { listen: config.listen },
    "serving plain TCP without TLS (--insecure): never do this in production",
  );
  return grpc.ServerCredentials.createInsecure();
}

/** The service, counting the machines HostFactory asks for and returns. */
function counted(service: ProviderService, metrics: Metrics): ProviderService {
  return {
    ...service,
    async requestMachines(ask, signal) {
      const answer = await service.requestMachines(ask, signal);
      metrics.machinesRequested(ask.templateId, ask.machineCount);
      return answer;
    },
    async requestReturnMachines(machines, signal) {
      const answer = await service.requestReturnMachines(machines, signal);
      metrics.machinesReturned(machines.length);
      return answer;
    },
  };
}

/** Metrics and Kubernetes Events for what the reconciler does. */
function reconcilerHooks(metrics: Metrics, events: EventSink): ReconcilerHooks {
  const templateOf = (record: RequestRecord) => (record.kind === "create" ? record.templateId : "");
  return {
    podCreated: (_requestId, templateId) => metrics.podCreated(templateId),
    machinesFailed(record, failures) {
      metrics.machinesFailed(templateOf(record), failures.size);
      const [first] = failures.values();
      const noun = failures.size === 1 ? "machine" : "machines";
      events.emit(
        record.requestId,
        "Warning",
        "MachineFailed",
        `${failures.size} ${noun} failed: ${first}`,
      );
    },
    requestCompleted(record, failed) {
      if (failed === 0)
        events.emit(record.requestId, "Normal", "RequestComplete", "all machines succeeded");
      else {
        const noun = failed === 1 ? "machine" : "machines";
        events.emit(
          record.requestId,
          "Warning",
          "RequestCompleteWithError",
          `${failed} ${noun} failed`,
        );
      }
    },
  };
}

export async function startSidecar(
  config: Config & { templates: string; namespace: string },
  kubeConfig: KubeConfig,
  logger: Logger,
  identity = replicaIdentity(),
): Promise<Sidecar> {
  const metrics = createMetrics();
  const limiter = createRateLimiter({
    qps: config.qps,
    burst: config.burst,
    maxInFlight: config.maxInFlight,
    observe: metrics.kubeCall,
  });
  const cluster = connectCluster(kubeConfig, {
    namespace: config.namespace,
    instance: config.instance,
    limiter,
    logger,
  });
  const instanceSelector = `${LABEL_INSTANCE}=${config.instance}`;
  const watchdogMs = config.watchInactivity * 1000;
  const pods = createListWatchCache<PodView>({
    name: "pods",
    kubeConfig,
    source: cluster.sources.pods,
    labelSelector: instanceSelector,
    project: projectPod,
    key: (pod) => pod.name,
    limiter,
    watchdogMs,
    logger,
  });
  const records = createListWatchCache<RequestRecord>({
    name: "records",
    kubeConfig,
    source: cluster.sources.configMaps,
    labelSelector: `${instanceSelector},${LABEL_RECORD_KIND}`,
    project: (object) => parseRecord(object as Parameters<typeof parseRecord>[0]),
    key: (record) => record.requestId,
    limiter,
    watchdogMs,
    logger,
  });
  const nodes = config.watchNodes
    ? createListWatchCache<NodeView>({
        name: "nodes",
        kubeConfig,
        source: cluster.sources.nodes,
        project: projectNode,
        key: (node) => node.name,
        limiter,
        watchdogMs,
        logger,
      })
    : undefined;
  const quotas = config.watchQuotas
    ? createListWatchCache<QuotaView>({
        name: "quotas",
        kubeConfig,
        source: cluster.sources.resourceQuotas,
        project: projectQuota,
        key: (quota) => quota.name,
        limiter,
        watchdogMs,
        logger,
      })
    : undefined;
  const templates = createTemplatesSource(
    config.templates,
    { pendingTimeoutSeconds: config.pendingTimeout, watchNodes: config.watchNodes },
    logger,
    (outcome) => {
      metrics.templatesReloaded(outcome === "changed");
      if (outcome === "changed") budgetKeeper.templatesChanged();
    },
  );
  const budgetKeeper = createDisruptionBudgetKeeper({
    budget: cluster.disruptionBudget,
    templates,
    logger,
  });
  const state = createClusterState(pods, records, nodes, quotas);
  const settings = {
    instance: config.instance,
    podNamePrefix: config.podNamePrefix,
    namespace: config.namespace,
    clusterDomain: config.clusterDomain,
  };
  const service = createProviderService(
    { ...settings, maxRequestMachines: config.maxRequestMachines },
    state,
    templates,
    cluster.records,
    {
      foreignPodNames: cluster.foreignPodNames,
      admitter: createAdmitter(cluster.ledger, state),
      references: cluster.references,
    },
  );
  const reconciler = createReconciler(
    {
      ...settings,
      retentionMs: config.recordRetention * 1000,
      defaultPendingTimeoutSeconds: config.pendingTimeout,
      failFast: {
        reasons: new Set(parseReasons(config.failFastReasons)),
        afterMs: config.failFastAfter * 1000,
      },
      orphanPolicy: config.orphanPolicy as "report" | "delete",
      orphanGraceMs: config.orphanGracePeriod * 1000,
      maxRetryDelayMs: config.retryMaxDelay * 1000,
    },
    state,
    templates,
    cluster.pods,
    cluster.records,
    logger,
    reconcilerHooks(metrics, cluster.events),
  );
  const abandoned = createAbandonedRequests({
    abandonAfterMs: config.abandonAfter * 1000,
    state,
    records: cluster.records,
    logger,
    onAbandoned(record, machines) {
      metrics.requestAbandoned(record.templateId);
      const noun = machines === 1 ? "machine" : "machines";
      cluster.events.emit(
        record.requestId,
        "Warning",
        "RequestAbandoned",
        `HostFactory never asked about this request within ${config.abandonAfter}s: ${machines} ${noun} failed, their pods are deleted`,
      );
    },
  });
  /** What only the leader does. */
  const lead = () => {
    budgetKeeper.start();
    reconciler.start();
    abandoned.start();
  };
  // Leader election starts once the caches are synced; the admin service asks for it per call.
  let elector: LeaderElector | undefined;
  const admin = createAdminHandlers(
    {
      ...settings,
      identity,
      leaderElect: config.leaderElect,
      leaseName: config.leaseName,
      watchNodes: config.watchNodes,
      watchQuotas: config.watchQuotas,
      templatesFile: config.templates,
    },
    {
      service,
      state,
      templates,
      records: cluster.records,
      caches: { pods, records, nodes, quotas },
      cluster: cluster.reads,
      references: cluster.references,
      elector: () => elector,
      orphans: () => reconciler.stats.orphans,
    },
    logger,
    metrics.grpcCall,
  );
  const server = createGrpcServer(counted(service, metrics), logger, metrics.grpcCall, admin);
  const address = await server.listen(
    config.listen,
    serverCredentials(config, logger),
    Number.parseInt(config.socketMode, 8),
  );
  logger.info({ address, namespace: config.namespace, instance: config.instance }, "serving");
  const healthAddress = config.healthListen
    ? await server.listenHealth(config.healthListen)
    : undefined;
  const metricsServer = config.metricsListen
    ? await startMetricsServer(metrics, config.metricsListen)
    : undefined;
  if (healthAddress || metricsServer) {
    logger.info(
      { health: healthAddress, metrics: metricsServer?.address },
      "serving health and metrics",
    );
  }

  await Promise.all([pods.start(), records.start(), nodes?.start(), quotas?.start()]);
  server.health.setStatus("", "SERVING");
  server.health.setStatus(SERVICE_NAME, "SERVING");
  logger.info({ pods: pods.size, records: records.size }, "caches synced");

  elector = config.leaderElect
    ? createLeaderElector({
        kubeConfig,
        namespace: config.namespace,
        leaseName: config.leaseName,
        identity,
        // A limiter of its own: renewals must never queue behind a burst of pod creations.
        limiter: createRateLimiter({ qps: Number.POSITIVE_INFINITY, observe: metrics.kubeCall }),
        leaseDurationMs: config.leaseDuration * 1000,
        renewDeadlineMs: config.renewDeadline * 1000,
        retryPeriodMs: config.retryPeriod * 1000,
        logger,
        onStartedLeading: lead,
        onStoppedLeading: () => {
          budgetKeeper.stop();
          abandoned.stop();
          void reconciler.stop();
        },
        onNewLeader: (leader) => logger.info({ leader }, "leader observed"),
      })
    : undefined;
  if (elector) elector.start();
  else lead();
  metrics.watch({
    state,
    caches: { pods, records, nodes, quotas },
    limiter,
    isLeader: () => elector?.isLeader ?? true,
    expectations: () => reconciler.stats.expectations,
    retrying: () => reconciler.stats.retrying,
    orphans: () => reconciler.stats.orphans,
  });

  return {
    address,
    identity,
    state,
    reconciler,
    elector,
    caches: { pods, records, nodes, quotas },
    metricsAddress: metricsServer?.address,
    healthAddress,
    async stop() {
      await server.shutdown(SHUTDOWN_GRACE_MS);
      metricsServer?.server.close();
      abandoned.stop();
      budgetKeeper.stop();
      await budgetKeeper.idle();
      await reconciler.stop();
      await elector?.stop();
      await Promise.all([pods.stop(), records.stop(), nodes?.stop(), quotas?.stop()]);
      templates.close();
      state.close();
      logger.info("stopped");
    },
  };
}
