// One sidecar, wired: caches, templates, the gRPC server, leader election and the reconciler.
// main.ts runs it as a process; tests start it in-process against the simulator.
import { hostname } from "node:os";
import * as grpc from "@grpc/grpc-js";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { type ClusterState, createClusterState } from "./cluster-state.ts";
import type { Config } from "./config.ts";
import { createGrpcServer, SERVICE_NAME } from "./grpc-server.ts";
import { createLeaderElector, type LeaderElector } from "./kube/leader-election.ts";
import { createListWatchCache, type ListWatchCache } from "./kube/list-watch.ts";
import { clusterNodes, namespacedConfigMaps, namespacedPods } from "./kube/list-watch-sources.ts";
import { projectNode } from "./kube/node-view.ts";
import { projectPod } from "./kube/pod-view.ts";
import { createRateLimiter } from "./kube/rate-limiter.ts";
import {
  LABEL_INSTANCE,
  LABEL_RECORD_KIND,
  type NodeView,
  type PodView,
  type RequestRecord,
} from "./provider/model.ts";
import { parseRecord } from "./provider/records.ts";
import { createProviderService } from "./provider-service.ts";
import { createReconciler, type Reconciler } from "./reconciler.ts";
import { createRecordApi } from "./record-store.ts";
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
  };
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

export async function startSidecar(
  config: Config & { templates: string; namespace: string },
  kubeConfig: KubeConfig,
  logger: Logger,
  identity = `${hostname()}-${process.pid}`,
): Promise<Sidecar> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const limiter = createRateLimiter({
    qps: config.qps,
    burst: config.burst,
    maxInFlight: config.maxInFlight,
  });
  const instanceSelector = `${LABEL_INSTANCE}=${config.instance}`;
  const watchdogMs = config.watchInactivity * 1000;
  const pods = createListWatchCache<PodView>({
    name: "pods",
    kubeConfig,
    source: namespacedPods(core, config.namespace),
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
    source: namespacedConfigMaps(core, config.namespace),
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
        source: clusterNodes(core),
        project: projectNode,
        key: (node) => node.name,
        limiter,
        watchdogMs,
        logger,
      })
    : undefined;
  const templates = createTemplatesSource(
    config.templates,
    { pendingTimeoutSeconds: config.pendingTimeout },
    logger,
  );
  const state = createClusterState(pods, records, nodes);
  const recordApi = createRecordApi(core, limiter, config.namespace);
  const settings = {
    instance: config.instance,
    podNamePrefix: config.podNamePrefix,
    namespace: config.namespace,
    clusterDomain: config.clusterDomain,
  };
  const service = createProviderService(settings, state, templates, recordApi);
  const reconciler = createReconciler(
    {
      ...settings,
      retentionMs: config.recordRetention * 1000,
      orphanPolicy: config.orphanPolicy as "report" | "delete",
      orphanGraceMs: config.orphanGracePeriod * 1000,
    },
    state,
    templates,
    core,
    recordApi,
    limiter,
    logger,
  );
  const server = createGrpcServer(service, logger);
  const address = await server.listen(
    config.listen,
    serverCredentials(config, logger),
    Number.parseInt(config.socketMode, 8),
  );
  logger.info({ address, namespace: config.namespace, instance: config.instance }, "serving");

  await Promise.all([pods.start(), records.start(), nodes?.start()]);
  server.health.setStatus("", "SERVING");
  server.health.setStatus(SERVICE_NAME, "SERVING");
  logger.info({ pods: pods.size, records: records.size }, "caches synced");

  const elector = config.leaderElect
    ? createLeaderElector({
        kubeConfig,
        namespace: config.namespace,
        leaseName: config.leaseName,
        identity,
        // No shared limiter: renewals must never queue behind a burst of pod creations.
        leaseDurationMs: config.leaseDuration * 1000,
        renewDeadlineMs: config.renewDeadline * 1000,
        retryPeriodMs: config.retryPeriod * 1000,
        logger,
        onStartedLeading: () => reconciler.start(),
        onStoppedLeading: () => void reconciler.stop(),
        onNewLeader: (leader) => logger.info({ leader }, "leader observed"),
      })
    : undefined;
  if (elector) elector.start();
  else reconciler.start();

  return {
    address,
    identity,
    state,
    reconciler,
    elector,
    caches: { pods, records, nodes },
    async stop() {
      await server.shutdown(SHUTDOWN_GRACE_MS);
      await reconciler.stop();
      await elector?.stop();
      await Promise.all([pods.stop(), records.stop(), nodes?.stop()]);
      templates.close();
      state.close();
      logger.info("stopped");
    },
  };
}
