import { isDeepStrictEqual } from "node:util";
import { podWithCondition } from "./conditions.ts";
import type { EventLog } from "./event-log.ts";
import type { Kubelets } from "./kubelet.ts";
import {
  allocatePodCIDR,
  DEFAULT_NODE_CPU,
  DEFAULT_NODE_MEMORY,
  DEFAULT_NODE_PODS,
  readyNodeStatus,
} from "./node-factory.ts";
import { nodeIsReady } from "./node-ready.ts";
import type { Node, Pod, Taint } from "./object-types.ts";
import { NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT } from "./pod-strategy.ts";
import { NODES, PODS } from "./resources.ts";
import type { RestApi } from "./rest-api.ts";
import { tolerates } from "./scheduler.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";
import type { Timeline } from "./timeline.ts";

/**
 * The controller-manager's node duties (and node registration): pod CIDRs and kubelet status for
 * nodes created through the API, the not-ready / unreachable /
 * unschedulable taints that follow a node's state, marking pods of a lost node not Ready,
 * evicting pods that do not tolerate a NoExecute taint (after their tolerationSeconds), and
 * garbage-collecting the pods of a node that was removed.
 */
export interface NodeLifecycleOptions {
  store: Store;
  api: RestApi;
  kubelets: Kubelets;
  timeline: Timeline;
  log: EventLog;
  now: () => Date;
}

/** Taints this controller owns; others (set by people) are left alone. */
const MANAGED_TAINTS = new Set([NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT]);

function desiredTaints(node: Node, now: string): Taint[] {
  const own = (node.spec?.taints ?? []).filter((taint) => !MANAGED_TAINTS.has(taint.key));
  const existing = new Map(
    (node.spec?.taints ?? []).map((taint) => [`${taint.key}:${taint.effect}`, taint]),
  );
  const keep = (taint: Taint) => existing.get(`${taint.key}:${taint.effect}`) ?? taint;
  const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
  const managed: Taint[] = [];
  if (node.spec?.unschedulable)
    managed.push(keep({ key: UNSCHEDULABLE_TAINT, effect: "NoSchedule", timeAdded: now }));
  if (ready?.status !== "True") {
    const key = ready?.status === "False" ? NOT_READY_TAINT : UNREACHABLE_TAINT;
    managed.push(keep({ key, effect: "NoSchedule", timeAdded: now }));
    managed.push(keep({ key, effect: "NoExecute", timeAdded: now }));
  }
  return [...own, ...managed];
}

export function createNodeLifecycle(options: NodeLifecycleOptions): void {
  const { store, api, kubelets, timeline, log, now } = options;
  const readyBefore = new Map<string, boolean>();

  const podsOn = (node: string) =>
    (store.list(PODS.name) as Pod[]).filter((pod) => pod.spec.nodeName === node);

  const disrupt = (pod: Pod, reason: string, message: string, failed: boolean) => {
    const next = podWithCondition(pod, {
      type: "DisruptionTarget",
      status: "True",
      reason,
      message,
      lastProbeTime: null,
      lastTransitionTime: rfc3339(now()),
    });
    if (failed) next.status = { ...next.status, phase: "Failed" };
    return store.put(PODS.name, next) as Pod;
  };

  const evictForTaint = (key: string) => {
    const slash = key.indexOf("/");
    const pod = store.get(PODS.name, key.slice(0, slash), key.slice(slash + 1)) as Pod | undefined;
    if (!pod || pod.metadata.deletionTimestamp) return;
    disrupt(pod, "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint", false);
    log.record("evicted", `NoExecute taint on node ${pod.spec.nodeName}`, key);
    api.delete(PODS, pod.metadata.namespace as string, pod.metadata.name as string);
  };

  /** The taint manager: pods that do not tolerate a NoExecute taint go, now or after a while. */
  const applyNoExecute = (node: Node) => {
    const taints = (node.spec?.taints ?? []).filter((taint) => taint.effect === "NoExecute");
    for (const pod of podsOn(node.metadata.name as string)) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (pod.metadata.deletionTimestamp) continue;
      let delayMs: number | undefined;
      for (const taint of taints) {
        const toleration = (pod.spec.tolerations ?? []).find((candidate) =>
          tolerates([candidate], taint),
        );
        const seconds = toleration ? toleration.tolerationSeconds : 0;
        if (seconds === undefined) continue;
        const since = taint.timeAdded ? Date.parse(taint.timeAdded) : now().getTime();
        const remaining = Math.max(0, since + seconds * 1000 - now().getTime());
        delayMs = delayMs === undefined ? remaining : Math.min(delayMs, remaining);
      }
      if (delayMs === undefined) timeline.cancel(`taint-evict:${key}`);
      else if (delayMs === 0) evictForTaint(key);
      else if (!timeline.has(`taint-evict:${key}`)) {
        timeline.schedule(`taint-evict:${key}`, delayMs, () => evictForTaint(key));
      }
    }
  };

  const markPodsNotReady = (node: string) => {
    for (const pod of podsOn(node)) {
      const ready = pod.status?.conditions?.find((condition) => condition.type === "Ready");
      if (ready?.status !== "True") continue;
      const next = podWithCondition(pod, {
        type: "Ready",
        status: "False",
        lastProbeTime: null,
        lastTransitionTime: rfc3339(now()),
      });
      store.put(PODS.name, next);
    }
  };

  const collectOrphans = (node: string) => {
    for (const pod of podsOn(node)) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      const phase = pod.status?.phase;
      const marked =
        phase === "Succeeded" || phase === "Failed"
          ? pod
          : disrupt(pod, "DeletionByPodGC", "PodGC: node no longer exists", true);
      log.record("deleted", `node ${node} no longer exists`, key);
      api.delete(PODS, marked.metadata.namespace as string, marked.metadata.name as string, {
        gracePeriodSeconds: 0,
      });
    }
  };

  /** A node created through the API gets what node IPAM and its kubelet would give it. */
  const register = (node: Node) => {
    const next = thaw(node);
    const podCIDR = node.spec?.podCIDR ?? allocatePodCIDR(store);
    next.spec = { ...next.spec, podCIDR, podCIDRs: [podCIDR] };
    if (!node.status?.conditions) {
      const capacity = {
        cpu: DEFAULT_NODE_CPU,
        memory: DEFAULT_NODE_MEMORY,
        pods: String(DEFAULT_NODE_PODS),
        ...node.status?.capacity,
      };
      next.status = readyNodeStatus(
        node.metadata.name as string,
        capacity,
        podCIDR,
        rfc3339(now()),
      );
    }
    store.put(NODES.name, next);
  };

  const reconcile = (node: Node) => {
    const name = node.metadata.name as string;
    if (!node.spec?.podCIDR || !node.status?.conditions) {
      register(node);
      return;
    }
    const taints = desiredTaints(node, rfc3339(now()));
    if (!isDeepStrictEqual(taints, node.spec?.taints ?? [])) {
      const next = thaw(node);
      next.spec = { ...next.spec, taints };
      if (taints.length === 0) delete next.spec.taints;
      store.put(NODES.name, next);
      return; // The write comes back as an event and finishes the job.
    }
    const ready = nodeIsReady(node);
    const wasReady = readyBefore.get(name);
    readyBefore.set(name, ready);
    if (!ready && wasReady !== false) {
      log.record("node", "node is not ready", name);
      markPodsNotReady(name);
    }
    if (ready && wasReady === false) {
      log.record("node", "node is ready", name);
      kubelets.resync(name);
    }
    applyNoExecute(node);
  };

  store.subscribe(NODES.name, (event) => {
    const name = event.object.metadata.name as string;
    if (event.type === "DELETED") {
      readyBefore.delete(name);
      queueMicrotask(() => collectOrphans(name));
      return;
    }
    queueMicrotask(() => {
      const latest = store.get(NODES.name, "", name) as Node | undefined;
      if (latest && latest.metadata.resourceVersion === event.object.metadata.resourceVersion) {
        reconcile(latest);
      }
    });
  });
}
