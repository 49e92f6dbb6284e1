import { acknowledge } from "./kubelet-admission.ts";
import {
  currentPod,
  type KubeletContext,
  type KubeletOptions,
  nodeOf,
  podKey,
} from "./kubelet-context.ts";
import { type ContainerExit, exitContainer } from "./kubelet-exit.ts";
import { planStart } from "./kubelet-start.ts";
import { planStop } from "./kubelet-stop.ts";
import { nodeIsReady } from "./node-ready.ts";
import type { Pod } from "./object-types.ts";
import { createPodIpPool } from "./pod-ip-pool.ts";
import { CONFIGMAPS, PODS } from "./resources.ts";

/**
 * The kubelets of every simulated node: a bound pod is acknowledged (Pending, ContainerCreating,
 * hostIP), then Running and Ready with a pod IP after the start delay; a deleted pod stops and is
 * removed after its grace period; a container can be made to exit. A container whose image is
 * from a `.invalid` registry, or whose env names a missing Secret or ConfigMap, is kept waiting
 * (ErrImagePull then ImagePullBackOff, CreateContainerConfigError) instead; a ConfigMap created
 * later lets it start. A node that is not Ready has no working kubelet: its pods are left as they
 * are until it comes back.
 */
export interface Kubelets {
  /** A container of the pod exits with `exitCode`; the pod's restartPolicy decides what follows. */
  exitContainer(namespace: string, name: string, exit: ContainerExit): void;
  /** Picks up the pods of a node whose kubelet is back. */
  resync(node: string): void;
}

/** The kubelet's sync of one pod: plans what comes next from where the pod is. */
function syncPod(context: KubeletContext, pod: Pod) {
  const node = nodeOf(context.store, pod);
  if (!node || !nodeIsReady(node)) return;
  const key = podKey(pod);
  if (pod.metadata.deletionTimestamp) {
    // The kubelet acts on a deletion only while the grace period is still running.
    if (pod.metadata.deletionGracePeriodSeconds) planStop(context, pod);
    return;
  }
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return;
  if (!pod.status?.startTime) {
    acknowledge(context, pod, node);
  } else if (
    !context.timeline.has(`start:${key}`) &&
    !context.blocked.has(key) &&
    pod.status.containerStatuses?.some((status) => !status.state.running)
  ) {
    planStart(context, key);
  }
}

/** Cancels what was planned for a pod removed from the API and frees its IP. */
function forgetPod(context: KubeletContext, key: string) {
  const { timeline } = context;
  timeline.cancel(`start:${key}`);
  timeline.cancel(`stop:${key}`);
  timeline.cancel(`backoff:${key}`);
  context.blocked.delete(key);
  context.stopping.delete(key);
  context.ips.release(key);
}

/** Pods syncing on every change; a ConfigMap created or changed retries the pods waiting for it. */
function watchPodsAndConfigMaps(context: KubeletContext) {
  const { store, timeline, blocked } = context;
  store.subscribe(PODS.name, (event) => {
    const pod = event.object as Pod;
    const key = podKey(pod);
    if (event.type === "DELETED") {
      forgetPod(context, key);
      return;
    }
    if (!pod.spec.nodeName) return;
    // Deferred, so that the write which bound or changed the pod has reached every watcher first.
    queueMicrotask(() => {
      const latest = currentPod(store, key);
      if (latest && latest.metadata.uid === pod.metadata.uid && latest.spec.nodeName) {
        syncPod(context, latest);
      }
    });
  });
  store.subscribe(CONFIGMAPS.name, (event) => {
    if (event.type === "DELETED" || blocked.size === 0) return;
    const { namespace, name } = event.object.metadata;
    for (const [key, configMap] of blocked) {
      if (configMap !== name || !key.startsWith(`${namespace}/`)) continue;
      if (!timeline.has(`start:${key}`)) planStart(context, key);
    }
  });
}

export function createKubelets(options: KubeletOptions): Kubelets {
  const context: KubeletContext = {
    ...options,
    ips: createPodIpPool(),
    stopping: new Map(),
    blocked: new Map(),
  };
  watchPodsAndConfigMaps(context);
  return {
    exitContainer: (namespace, name, exit) => exitContainer(context, namespace, name, exit),
    resync(node) {
      for (const key of context.usage.podsOn(node)) {
        const pod = currentPod(context.store, key);
        if (pod) syncPod(context, pod);
      }
    },
  };
}
