// getReturnRequests: HostFactory lists every machine it holds; we answer with those the cluster
// has taken or is taking away, so HostFactory can close them down in Symphony.
import type { NodeView, PodView } from "./model.ts";
import { parsePodName, podNameOfMachine } from "./naming.ts";

export interface ReturnCandidate {
  machine: string;
  machineId: string;
  /** Seconds left; 0 when the machine is gone already. */
  gracePeriod: number;
  reason: string;
}

export interface ReturnContext {
  podNamePrefix: string;
  pod: (name: string) => PodView | undefined;
  /** The node a pod runs on; undefined when nodes are not watched (or the node is unknown). */
  node: (name: string) => NodeView | undefined;
  /** Whether HostFactory already asked to return this pod (so it needs no telling). */
  isReturning: (podName: string) => boolean;
  /** Whether a pod of this name exists that is not ours (no instance label of ours); undefined
   * when that could not be found out. */
  existsElsewhere: (podName: string) => boolean | undefined;
  /** Epoch milliseconds. */
  now: number;
}

function candidate(
  machine: { name: string; machineId: string },
  context: ReturnContext,
): Omit<ReturnCandidate, "machine" | "machineId"> | undefined {
  const name = podNameOfMachine(machine.name);
  const pod = context.pod(name);
  if (!pod) return { gracePeriod: 0, reason: "the pod no longer exists" };
  if (machine.machineId && pod.uid !== machine.machineId) {
    return { gracePeriod: 0, reason: "the pod was replaced by another with the same name" };
  }
  if (pod.phase === "Failed" || pod.phase === "Succeeded") {
    return { gracePeriod: 0, reason: `the pod has stopped: ${pod.reason || pod.phase}` };
  }
  // A NotReady node's kubelet cannot stop the pod gracefully, so the taint eviction controller's
  // deletion deadline is no time left: the host is lost already.
  const node = pod.nodeName ? context.node(pod.nodeName) : undefined;
  if (node && !node.ready) {
    return { gracePeriod: 0, reason: `its node ${node.name} is NotReady` };
  }
  if (pod.deletingAt !== undefined) {
    const left = Math.max(0, Math.ceil((pod.deletingAt - context.now) / 1000));
    const why = pod.preempted === undefined ? "the pod is being deleted" : "the pod is preempted";
    return { gracePeriod: left, reason: why };
  }
  // The scheduler marks its victim before it deletes it, with the pod's own grace period.
  if (pod.preempted !== undefined) {
    return {
      gracePeriod: pod.gracePeriodSeconds,
      reason: `the pod is preempted: ${pod.preempted}`,
    };
  }
  if (pod.disrupted) {
    return { gracePeriod: 0, reason: `the pod is being disrupted: ${pod.reason || "eviction"}` };
  }
  if (node?.leaving) {
    // Removal drains the node: the pod gets its termination grace period, no more.
    return { gracePeriod: pod.gracePeriodSeconds, reason: `${node.leaving} (${node.name})` };
  }
  // A cooperative host holds up its node's drain (its PodDisruptionBudget refuses the eviction)
  // until HostFactory returns it; once returned, it is deleted with its grace period.
  if (pod.cooperative && node?.cordoned) {
    return {
      gracePeriod: pod.gracePeriodSeconds,
      reason: `its node ${node.name} is cordoned (being drained); the drain waits for the host's return`,
    };
  }
  return undefined;
}

/**
 * Whether a machine with no pod of ours gets no answer: a pod of its name that is not ours lives
 * (never touched, reported once it is gone), or, when that cannot be found out, its name is not
 * one we give (a host of an earlier prefix or another provider might still run).
 */
function unanswerable(podName: string, context: ReturnContext): boolean {
  if (context.pod(podName)) return false;
  const elsewhere = context.existsElsewhere(podName);
  if (elsewhere !== undefined) return elsewhere;
  return !parsePodName(context.podNamePrefix, podName);
}

/**
 * The machines among `machines` that the cluster took or will take away. Every host HostFactory
 * holds gets an answer, whatever its name: one whose pod does not exist is gone.
 */
export function returnCandidates(
  machines: { name: string; machineId: string }[],
  context: ReturnContext,
): ReturnCandidate[] {
  const candidates: ReturnCandidate[] = [];
  for (const machine of machines) {
    const name = podNameOfMachine(machine.name);
    if (context.isReturning(name) || unanswerable(name, context)) continue;
    const found = candidate(machine, context);
    if (found) candidates.push({ machine: machine.name, machineId: machine.machineId, ...found });
  }
  return candidates;
}
