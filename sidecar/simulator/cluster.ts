import type { EventLog } from "./event-log.ts";
import type { Kubelets } from "./kubelet.ts";
import type { ContainerExit } from "./kubelet-exit.ts";
import { allocatePodCIDR, buildNode, type NodeSpec } from "./node-factory.ts";
import type { NodeUsage } from "./node-usage.ts";
import type { Condition, Node, Pod, Taint } from "./object-types.ts";
import { NODES, PODS } from "./resources.ts";
import type { RestApi } from "./rest-api.ts";
import type { Scheduler } from "./scheduler.ts";
import { StatusError } from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";
import type { Timeline } from "./timeline.ts";

/**
 * Control of the simulated cluster's machinery, for tests and the admin endpoint: nodes come and
 * go, fail and recover, are cordoned, tainted and drained; pods fail, complete and are evicted.
 * Everything here happens the way it would in a real cluster (through the same controllers), so
 * clients see the same sequence of API changes.
 */
export interface Cluster {
  addNode(spec: NodeSpec): Node;
  /** Deletes the node; its pods are garbage-collected (DisruptionTarget, Failed, force-deleted). */
  removeNode(name: string): void;
  /**
   * false: the node's kubelet stops reporting (Ready=Unknown): unreachable taints, its pods
   * turn not Ready, pods without a matching toleration are evicted (and, with no kubelet to
   * confirm, stay Terminating). true: the kubelet is back and picks up its pods.
   */
  setNodeReady(name: string, ready: boolean): void;
  cordon(name: string): void;
  uncordon(name: string): void;
  taint(name: string, taint: Taint): void;
  untaint(name: string, key: string, effect?: Taint["effect"]): void;
  /** Cordons the node and evicts every pod on it, as one pass of `kubectl drain` does; returns
   * the names of the pods a PodDisruptionBudget held back (429), which a drain tries again. */
  drainNode(name: string, options?: { gracePeriodSeconds?: number }): string[];
  /** A container of the pod exits non-zero (default 1, reason "Error"); see ContainerExit. */
  failPod(namespace: string, name: string, exit?: ContainerExit): void;
  /** The pod's containers exit 0: with restartPolicy Never or OnFailure, it Succeeds. */
  completePod(namespace: string, name: string): void;
  /** Evicts through the eviction subresource's rules (DisruptionTarget, graceful delete). */
  evictPod(namespace: string, name: string, options?: { gracePeriodSeconds?: number }): void;
  /** Deletes as a client would (graceful for a running pod). */
  deletePod(namespace: string, name: string, options?: { gracePeriodSeconds?: number }): void;
  /** Runs every pending scheduling pass and kubelet/controller action now, without waiting. */
  flush(): void;
  /**
   * Resolves once the scheduler is idle and no pod is waiting to start (pods that can run are
   * Running), or after `timeoutMs`. Graceful deletions and delayed evictions may still be pending.
   */
  settle(timeoutMs?: number): Promise<void>;
  nodes(): Node[];
}

export interface ClusterOptions {
  store: Store;
  api: RestApi;
  scheduler: Scheduler;
  kubelets: Kubelets;
  usage: NodeUsage;
  timeline: Timeline;
  log: EventLog;
  now: () => Date;
}

/** settle() gives up after this long by default. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 5;

export function createCluster(options: ClusterOptions): Cluster {
  const { store, api, scheduler, timeline, log, now } = options;

  const node = (name: string): Node => {
    const found = store.get(NODES.name, "", name) as Node | undefined;
    if (!found) throw new Error(`node "${name}" does not exist`);
    return found;
  };
  const updateNode = (name: string, change: (next: Node) => void) => {
    const next = thaw(node(name));
    change(next);
    store.put(NODES.name, next);
  };

  const cluster: Cluster = {
    addNode(spec) {
      if (store.get(NODES.name, "", spec.name))
        throw new Error(`node "${spec.name}" already exists`);
      const created = store.put(
        NODES.name,
        buildNode(spec, allocatePodCIDR(store), rfc3339(now())),
      );
      log.record("node", "node added", spec.name);
      return created as Node;
    },
    removeNode(name) {
      node(name);
      store.delete(NODES.name, "", name);
      log.record("node", "node removed", name);
    },
    setNodeReady(name, ready) {
      updateNode(name, (next) => {
        const at = rfc3339(now());
        next.status = {
          ...next.status,
          conditions: (next.status?.conditions ?? []).map((condition): Condition => {
            if (ready) {
              return condition.type === "Ready"
                ? {
                    ...condition,
                    status: "True",
                    reason: "KubeletReady",
                    message: "kubelet is posting ready status",
                    lastHeartbeatTime: at,
                    lastTransitionTime: at,
                  }
                : { ...condition, status: "False", lastHeartbeatTime: at, lastTransitionTime: at };
            }
            return {
              ...condition,
              status: "Unknown",
              reason: "NodeStatusUnknown",
              message: "Kubelet stopped posting node status.",
              lastTransitionTime: at,
            };
          }),
        };
      });
    },
    cordon(name) {
      updateNode(name, (next) => {
        next.spec = { ...next.spec, unschedulable: true };
      });
    },
    uncordon(name) {
      updateNode(name, (next) => {
        if (next.spec) delete next.spec.unschedulable;
      });
    },
    taint(name, taint) {
      updateNode(name, (next) => {
        const others = (next.spec?.taints ?? []).filter(
          (existing) => !(existing.key === taint.key && existing.effect === taint.effect),
        );
        const added =
          taint.effect === "NoExecute" ? { timeAdded: rfc3339(now()), ...taint } : taint;
        next.spec = { ...next.spec, taints: [...others, added] };
      });
    },
    untaint(name, key, effect) {
      updateNode(name, (next) => {
        const taints = (next.spec?.taints ?? []).filter(
          (existing) => !(existing.key === key && (!effect || existing.effect === effect)),
        );
        next.spec = { ...next.spec, taints };
        if (taints.length === 0) delete next.spec.taints;
      });
    },
    drainNode(name, drainOptions = {}) {
      cluster.cordon(name);
      const heldBack: string[] = [];
      for (const pod of store.list(PODS.name) as Pod[]) {
        if (pod.spec.nodeName !== name || pod.metadata.deletionTimestamp) continue;
        const where = `${pod.metadata.namespace}/${pod.metadata.name}`;
        try {
          api.evict(pod.metadata.namespace as string, pod.metadata.name as string, {
            deleteOptions: drainOptions,
          });
        } catch (error) {
          if (!(error instanceof StatusError && error.code === 429)) throw error;
          heldBack.push(pod.metadata.name as string);
          log.record("held", `its disruption budget holds back the drain of node ${name}`, where);
          continue;
        }
        log.record("evicted", `drained from node ${name}`, where);
      }
      return heldBack;
    },
    failPod(namespace, name, exit = {}) {
      options.kubelets.exitContainer(namespace, name, { exitCode: 1, ...exit });
    },
    completePod(namespace, name) {
      const pod = store.get(PODS.name, namespace, name) as Pod | undefined;
      for (const container of pod?.spec.containers ?? []) {
        options.kubelets.exitContainer(namespace, name, { exitCode: 0, container: container.name });
      }
    },
    evictPod(namespace, name, evictOptions = {}) {
      api.evict(namespace, name, { deleteOptions: evictOptions });
      log.record("evicted", "evicted through the eviction API", `${namespace}/${name}`);
    },
    deletePod(namespace, name, deleteOptions = {}) {
      api.delete(PODS, namespace, name, deleteOptions);
    },
    flush() {
      for (let round = 0; round < 10; round++) {
        scheduler.flush();
        timeline.flush();
      }
    },
    async settle(timeoutMs = DEFAULT_SETTLE_TIMEOUT_MS) {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
        if (timeline.pending("start:") === 0 && !scheduler.busy) return;
      }
    },
    nodes() {
      return store.list(NODES.name) as Node[];
    },
  };
  return cluster;
}
