import { podWithCondition } from "./conditions.ts";
import type { EventLog } from "./event-log.ts";
import type { EventRecorder } from "./event-recorder.ts";
import type { NodeUsage } from "./node-usage.ts";
import type {
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  Pod,
  Taint,
  Toleration,
} from "./object-types.ts";
import { podRequests, UNSCHEDULABLE_TAINT } from "./pod-strategy.ts";
import { resourceUnits } from "./quantity.ts";
import type { Random } from "./random.ts";
import { NODES, PODS } from "./resources.ts";
import { boundPod } from "./rest-binding.ts";
import { rfc3339, type Store } from "./store.ts";

/**
 * The default scheduler, reduced to its filters that matter here (NodeUnschedulable,
 * TaintToleration, NodeAffinity, NodeResourcesFit) and a least-allocated score. Pods that fit
 * nowhere stay Pending with PodScheduled=False/Unschedulable and the scheduler's message, and
 * are retried whenever a node changes or capacity is freed, like the real scheduling queue.
 */
export interface Scheduler {
  /** Runs a scheduling pass now instead of on the next turn of the event loop. */
  flush(): void;
  /** True while pods wait for a scheduling pass. */
  readonly busy: boolean;
}

export interface SchedulerOptions {
  store: Store;
  usage: NodeUsage;
  recorder: EventRecorder | undefined;
  log: EventLog;
  random: Random;
  now: () => Date;
}

export const SCHEDULER_NAME = "default-scheduler";

export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some(
    (toleration) =>
      (!toleration.effect || toleration.effect === taint.effect) &&
      (toleration.operator === "Exists"
        ? !toleration.key || toleration.key === taint.key
        : toleration.key === taint.key && (toleration.value ?? "") === (taint.value ?? "")),
  );
}

function matchesRequirement(labels: Record<string, string>, requirement: NodeSelectorRequirement) {
  const value = labels[requirement.key];
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = Number(values[0]);
      return requirement.operator === "Gt" ? Number(value) > bound : Number(value) < bound;
    }
  }
}

function matchesTerm(node: Node, term: NodeSelectorTerm): boolean {
  const labels = node.metadata.labels ?? {};
  const fields = { "metadata.name": node.metadata.name ?? "" };
  return (
    (term.matchExpressions ?? []).every((requirement) => matchesRequirement(labels, requirement)) &&
    (term.matchFields ?? []).every((requirement) => matchesRequirement(fields, requirement))
  );
}

function matchesNodeAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (labels[key] !== value) return false;
  }
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms;
  return !terms || terms.some((term) => matchesTerm(node, term));
}

/** Allocatable units of a node by resource (millicores, bytes, pods, extended resources). */
export function allocatable(node: Node): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [resource, value] of Object.entries(node.status?.allocatable ?? {})) {
    result[resource] = resourceUnits(resource, value);
  }
  return result;
}

/** Why a pod cannot go on a node: the first failing filter's reasons. */
export interface NodeMisfit {
  reasons: string[];
  /**
   * Whether evicting pods from the node could never make room (a cordon, a taint, a selector, a
   * request beyond the node's allocatable), as the scheduler's UnschedulableAndUnresolvable.
   */
  unresolvable: boolean;
}

/** What the preemption part of the message says of a node, by NodeMisfit.unresolvable. */
const PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling";
/** The simulator preempts nothing (no priorities): a full node never has victims. */
const NO_PREEMPTION_VICTIMS = "No preemption victims found for incoming pod";

/** Why `pod` cannot go on `node`, or undefined when it fits. */
export function filterNode(
  pod: Pod,
  node: Node,
  used: Readonly<Record<string, number>>,
): NodeMisfit | undefined {
  const unschedulableTaint: Taint = { key: UNSCHEDULABLE_TAINT, effect: "NoSchedule" };
  if (node.spec?.unschedulable && !tolerates(pod.spec.tolerations, unschedulableTaint)) {
    return { reasons: ["node(s) were unschedulable"], unresolvable: true };
  }
  const untolerated = (node.spec?.taints ?? []).some(
    (taint) =>
      (taint.effect === "NoSchedule" || taint.effect === "NoExecute") &&
      !tolerates(pod.spec.tolerations, taint),
  );
  // Since v1.33 the scheduler no longer names the taint (its value may be sensitive).
  if (untolerated) return { reasons: ["node(s) had untolerated taint(s)"], unresolvable: true };
  if (!matchesNodeAffinity(pod, node)) {
    return { reasons: ["node(s) didn't match Pod's node affinity/selector"], unresolvable: true };
  }
  const capacity = allocatable(node);
  const reasons: string[] = [];
  let unresolvable = false;
  if ((used.pods ?? 0) + 1 > (capacity.pods ?? 0)) reasons.push("Too many pods");
  for (const [resource, requested] of Object.entries(podRequests(pod))) {
    if (requested === 0) continue;
    if ((used[resource] ?? 0) + requested > (capacity[resource] ?? 0)) {
      reasons.push(`Insufficient ${resource}`);
      if (requested > (capacity[resource] ?? 0)) unresolvable = true;
    }
  }
  return reasons.length > 0 ? { reasons, unresolvable } : undefined;
}

/** "2 Insufficient cpu, 3 node(s) didn't match …": counts, sorted as the scheduler sorts them. */
function histogram(counts: Map<string, number>): string {
  return [...counts.entries()]
    .map(([reason, count]) => `${count} ${reason}`)
    .sort()
    .join(", ");
}

/**
 * The scheduler's message for a pod no node takes, with the preemption verdict it appends:
 * "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No
 * preemption victims found for incoming pod."
 */
export function unschedulableMessage(nodeCount: number, misfits: NodeMisfit[]): string {
  if (nodeCount === 0) return "no nodes available to schedule pods";
  const reasons = new Map<string, number>();
  const preemption = new Map<string, number>();
  for (const misfit of misfits) {
    for (const reason of misfit.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    const verdict = misfit.unresolvable ? PREEMPTION_NOT_HELPFUL : NO_PREEMPTION_VICTIMS;
    preemption.set(verdict, (preemption.get(verdict) ?? 0) + 1);
  }
  const available = `0/${nodeCount} nodes are available`;
  return `${available}: ${histogram(reasons)}. preemption: ${available}: ${histogram(preemption)}.`;
}

function leastAllocatedScore(pod: Pod, node: Node, used: Readonly<Record<string, number>>): number {
  const capacity = allocatable(node);
  const requests = podRequests(pod);
  let score = 0;
  for (const resource of ["cpu", "memory"]) {
    const total = capacity[resource] ?? 0;
    if (total > 0) score += (total - (used[resource] ?? 0) - (requests[resource] ?? 0)) / total;
  }
  return score;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { store, usage, recorder, log, random, now } = options;
  /** Pods to try on the next pass, in arrival order (namespace/name). */
  const active = new Set<string>();
  /** Pods that fit nowhere; they go back to `active` when the cluster changes. */
  const unschedulable = new Set<string>();
  let scheduled = false;

  const schedulePass = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      pass();
    });
  };

  const retryUnschedulable = () => {
    if (unschedulable.size === 0) return;
    for (const key of unschedulable) active.add(key);
    unschedulable.clear();
    schedulePass();
  };

  const wantsScheduling = (pod: Pod) =>
    !pod.spec.nodeName &&
    !pod.metadata.deletionTimestamp &&
    (pod.spec.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME &&
    pod.status?.phase !== "Succeeded" &&
    pod.status?.phase !== "Failed";

  const bind = (pod: Pod, node: Node) => {
    const stored = store.put(PODS.name, boundPod(pod, node.metadata.name as string, now));
    const message = `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node.metadata.name}`;
    recorder?.record(stored, "Normal", "Scheduled", message, { component: SCHEDULER_NAME });
    log.record("scheduled", message, `${pod.metadata.namespace}/${pod.metadata.name}`);
  };

  const markUnschedulable = (pod: Pod, message: string) => {
    const current = pod.status?.conditions?.find((condition) => condition.type === "PodScheduled");
    if (current?.status === "False" && current.message === message) return;
    const next = podWithCondition(pod, {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
      lastProbeTime: null,
      lastTransitionTime: rfc3339(now()),
    });
    const stored = store.put(PODS.name, next);
    recorder?.record(stored, "Warning", "FailedScheduling", message, { component: SCHEDULER_NAME });
    log.record("unschedulable", message, `${pod.metadata.namespace}/${pod.metadata.name}`);
  };

  const scheduleOne = (pod: Pod, nodes: Node[]) => {
    const misfits: NodeMisfit[] = [];
    let best: Node | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (const node of nodes) {
      const used = usage.of(node.metadata.name as string);
      const misfit = filterNode(pod, node, used);
      if (misfit) {
        misfits.push(misfit);
        continue;
      }
      const score = leastAllocatedScore(pod, node, used);
      if (score > bestScore) {
        best = node;
        bestScore = score;
        ties = 1;
      } else if (score === bestScore && random.int(++ties) === 0) {
        // Reservoir sampling among equal scores, as the real scheduler picks a random top node.
        best = node;
      }
    }
    if (best) {
      bind(pod, best);
      return true;
    }
    markUnschedulable(pod, unschedulableMessage(nodes.length, misfits));
    return false;
  };

  const pass = () => {
    if (active.size === 0) return;
    const nodes = (store.list(NODES.name) as Node[]).sort((a, b) =>
      (a.metadata.name as string) < (b.metadata.name as string) ? -1 : 1,
    );
    const keys = [...active];
    active.clear();
    for (const key of keys) {
      const slash = key.indexOf("/");
      const pod = store.get(PODS.name, key.slice(0, slash), key.slice(slash + 1)) as
        | Pod
        | undefined;
      if (!pod || !wantsScheduling(pod)) continue;
      // Parked first, so that the pod's own status write does not queue it again.
      unschedulable.add(key);
      if (scheduleOne(pod, nodes)) unschedulable.delete(key);
    }
  };

  store.subscribe(PODS.name, (event) => {
    const pod = event.object as Pod;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (event.type === "DELETED" || !wantsScheduling(pod)) {
      active.delete(key);
      unschedulable.delete(key);
    } else if (!unschedulable.has(key) && !active.has(key)) {
      active.add(key);
      schedulePass();
    }
  });
  store.subscribe(NODES.name, retryUnschedulable);
  usage.onFreed(retryUnschedulable);
  for (const pod of store.list(PODS.name) as Pod[]) {
    if (wantsScheduling(pod)) active.add(`${pod.metadata.namespace}/${pod.metadata.name}`);
  }
  schedulePass();

  return {
    flush() {
      pass();
    },
    get busy() {
      return active.size > 0;
    },
  };
}
