// What the cluster itself says, read through the Kubernetes API with client-node: the same code
// whichever API server answers (the simulator or the real control plane), so a suite that checks
// its ground truth here runs unchanged on both.
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
  Watch,
} from "@kubernetes/client-node";
import { LABEL_INSTANCE } from "../../sidecar/provider/model.ts";

/** How long to wait before re-opening a pod watch the server closed or broke. */
const REWATCH_DELAY_MS = 200;

/** A pod as the tests compare it with what HostFactory was told. */
export interface PodFacts {
  name: string;
  uid: string;
  phase: string;
  podIP: string;
  nodeName: string;
  /** metadata.creationTimestamp, epoch milliseconds. */
  createdAt: number;
  deleting: boolean;
  labels: Record<string, string>;
}

/** Every pod of the instance that ever existed while it ran, by name: each UID is one create. */
export interface CreateLog {
  /** Pods created under each name (a name listed with two UIDs was created twice). */
  readonly uids: ReadonlyMap<string, ReadonlySet<string>>;
  /** Names created more than once. */
  duplicates(): string[];
  stop(): void;
}

export interface GroundTruth {
  readonly namespace: string;
  /** The instance's pods, as the API server has them now. */
  pods(): Promise<PodFacts[]>;
  /** One pod, or undefined when it does not exist. */
  pod(name: string): Promise<PodFacts | undefined>;
  /** Deletes a pod behind the provider's back, as an administrator with kubectl would. */
  deletePod(name: string, gracePeriodSeconds?: number): Promise<void>;
  /** ConfigMaps in the namespace (the request records and nothing else of ours). */
  configMapCount(): Promise<number>;
  /** The identity holding the instance's Lease, "" when there is none. */
  leaseHolder(): Promise<string>;
  /** Starts recording every pod of the instance created from now on (list, then watch). */
  recordCreates(): Promise<CreateLog>;
}

export function createGroundTruth(
  kubeConfig: KubeConfig,
  namespace: string,
  instance: string,
): GroundTruth {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const labelSelector = `${LABEL_INSTANCE}=${instance}`;
  return {
    namespace,
    async pods() {
      return (await core.listNamespacedPod({ namespace, labelSelector })).items.map(facts);
    },
    async pod(name) {
      try {
        return facts(await core.readNamespacedPod({ name, namespace }));
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    },
    async deletePod(name, gracePeriodSeconds) {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds });
    },
    async configMapCount() {
      return (await core.listNamespacedConfigMap({ namespace })).items.filter(
        (map) => map.metadata?.name !== "kube-root-ca.crt",
      ).length;
    },
    async leaseHolder() {
      try {
        const lease = await coordination.readNamespacedLease({
          name: `hostfactory-k8s-${instance}`,
          namespace,
        });
        return lease.spec?.holderIdentity ?? "";
      } catch (error) {
        if ((error as { code?: number }).code === 404) return "";
        throw error;
      }
    },
    recordCreates: () => recordCreates(kubeConfig, core, namespace, labelSelector),
  };
}

function facts(pod: V1Pod): PodFacts {
  return {
    name: pod.metadata?.name ?? "",
    uid: pod.metadata?.uid ?? "",
    phase: pod.status?.phase ?? "",
    podIP: pod.status?.podIP ?? "",
    nodeName: pod.spec?.nodeName ?? "",
    createdAt: pod.metadata?.creationTimestamp
      ? new Date(pod.metadata.creationTimestamp).getTime()
      : 0,
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    labels: pod.metadata?.labels ?? {},
  };
}

/**
 * A list, then a watch from its resourceVersion, re-opened from the last one seen whenever it
 * ends. A successful create is an object with a UID of its own: counting UIDs by name counts the
 * creates that took effect, which a count of create calls would not (a 409 for a name that
 * exists creates nothing).
 */
async function recordCreates(
  kubeConfig: KubeConfig,
  core: CoreV1Api,
  namespace: string,
  labelSelector: string,
): Promise<CreateLog> {
  const uids = new Map<string, Set<string>>();
  const see = (pod: V1Pod) => {
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid ?? "";
    if (!uids.has(name)) uids.set(name, new Set());
    uids.get(name)?.add(uid);
  };
  const list = await core.listNamespacedPod({ namespace, labelSelector });
  for (const pod of list.items) see(pod);
  let resourceVersion = list.metadata?.resourceVersion ?? "";
  let stopped = false;
  let controller: AbortController | undefined;
  const watch = new Watch(kubeConfig);
  const open = async (): Promise<void> => {
    if (stopped) return;
    try {
      controller = await watch.watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector, resourceVersion, allowWatchBookmarks: true },
        (type, object: V1Pod) => {
          // An ERROR is a 410 Expired: start again from the current state.
          if (type === "ERROR") resourceVersion = "";
          else if (object.metadata?.resourceVersion)
            resourceVersion = object.metadata.resourceVersion;
          if (type !== "BOOKMARK" && type !== "ERROR") see(object);
        },
        () => setTimeout(open, REWATCH_DELAY_MS),
      );
    } catch {
      // The API server is down (a test stopped it): try again until it is back.
      setTimeout(open, REWATCH_DELAY_MS);
    }
  };
  await open();
  return {
    uids,
    duplicates: () => [...uids].filter(([, set]) => set.size > 1).map(([name]) => name),
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
