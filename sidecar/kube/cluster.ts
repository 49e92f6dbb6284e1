// The sidecar's one door to the Kubernetes API: the only place that makes client-node's API
// classes. Everything above it (the reconciler, the gRPC handlers, the admin reads) gets the
// small interfaces this returns, all calls going through the one rate limiter.
import {
  AuthorizationV1Api,
  CoreV1Api,
  type KubeConfig,
  NodeV1Api,
  PolicyV1Api,
  SchedulingV1Api,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ReferenceLookup } from "../provider/template-references.ts";
import { type ClusterReads, createClusterReads } from "./cluster-reads.ts";
import { createDisruptionBudget, type DisruptionBudget } from "./disruption-budget.ts";
import { createEventSink, type EventSink } from "./event-sink.ts";
import { createForeignPodNames, type ForeignPodNames } from "./foreign-pods.ts";
import type { ListWatchSource } from "./list-watch.ts";
import {
  clusterNodes,
  namespacedConfigMaps,
  namespacedPods,
  namespacedResourceQuotas,
} from "./list-watch-sources.ts";
import { createPodWriter, type PodWriter } from "./pod-writer.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { createRecordStore, type RecordStore } from "./record-store.ts";
import { createReferenceLookup } from "./reference-lookup.ts";
import { createLedgerStore, type LedgerStore } from "./reservation-ledger.ts";
import { shareConnections } from "./shared-dispatcher.ts";

export interface ClusterOptions {
  /** The namespace of the instance's pods, records, Events and ledger. */
  namespace: string;
  /** The instance name the pods and records are labelled with. */
  instance: string;
  limiter: RateLimiter;
  logger: Logger;
}

export interface Cluster {
  /** What the list-watch caches list and watch. */
  sources: {
    pods: ListWatchSource;
    configMaps: ListWatchSource;
    nodes: ListWatchSource;
    resourceQuotas: ListWatchSource;
  };
  pods: PodWriter;
  records: RecordStore;
  events: EventSink;
  ledger: LedgerStore;
  foreignPodNames: ForeignPodNames;
  reads: ClusterReads;
  /** The PodDisruptionBudget over the hosts of cooperative templates. */
  disruptionBudget: DisruptionBudget;
  /** The PriorityClasses, RuntimeClasses and ServiceAccounts templates name. */
  references: ReferenceLookup;
}

export function connectCluster(kubeConfig: KubeConfig, options: ClusterOptions): Cluster {
  const { namespace, instance, limiter, logger } = options;
  // However the kubeconfig was loaded (a real cluster, --simulate, a test), calls share connections.
  shareConnections(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    sources: {
      pods: namespacedPods(core, namespace),
      configMaps: namespacedConfigMaps(core, namespace),
      nodes: clusterNodes(core),
      resourceQuotas: namespacedResourceQuotas(core, namespace),
    },
    pods: createPodWriter(core, limiter, namespace),
    records: createRecordStore(core, limiter, namespace),
    events: createEventSink(core, limiter, namespace, logger),
    ledger: createLedgerStore(core, limiter, namespace, instance),
    foreignPodNames: createForeignPodNames(core, limiter, namespace, instance),
    reads: createClusterReads(
      core,
      kubeConfig.makeApiClient(AuthorizationV1Api),
      limiter,
      namespace,
    ),
    disruptionBudget: createDisruptionBudget(
      kubeConfig.makeApiClient(PolicyV1Api),
      limiter,
      namespace,
      instance,
    ),
    references: createReferenceLookup(
      core,
      kubeConfig.makeApiClient(SchedulingV1Api),
      kubeConfig.makeApiClient(NodeV1Api),
      limiter,
      namespace,
    ),
  };
}
