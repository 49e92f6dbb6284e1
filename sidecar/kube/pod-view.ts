// Pod → PodView, the projection the pod cache keeps. It reads both shapes a pod arrives in: raw
// JSON from a watch (timestamps are strings) and client-node's typed V1Pod from a list (timestamps
// are Date objects), so both paths agree to the millisecond.

import {
  type ContainerWaiting,
  LABEL_DRAIN_POLICY,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
  type PodView,
} from "../provider/model.ts";

type Timestamp = Date | string;

interface ContainerState {
  waiting?: { reason?: string; message?: string };
  terminated?: { reason?: string; message?: string; exitCode?: number };
}

interface ContainerStatus {
  name?: string;
  state?: ContainerState;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The fields of a Pod (raw or typed) the projection reads. */
interface PodLike {
  metadata?: {
    name?: string;
    uid?: string;
    labels?: Record<string, string>;
    creationTimestamp?: Timestamp;
    deletionTimestamp?: Timestamp;
  };
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
  status?: {
    phase?: string;
    podIP?: string;
    reason?: string;
    message?: string;
    conditions?: Condition[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}

/** The DisruptionTarget reason kube-scheduler gives the pods it preempts. */
const PREEMPTION_REASON = "PreemptionByScheduler";
/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_PERIOD_SECONDS = 30;
const PHASES = new Set<PodView["phase"]>(["Pending", "Running", "Succeeded", "Failed", "Unknown"]);
/** Waiting reasons of a container that is on its way up: nothing to report. */
const NORMAL_WAITING_REASONS = new Set(["ContainerCreating", "PodInitializing"]);

/** Projects a Pod; undefined for an object without a name (nothing a cache could key it by). */
export function projectPod(raw: unknown): PodView | undefined {
  const pod = raw as PodLike;
  const metadata = pod?.metadata;
  if (!metadata?.name) return undefined;
  const status = pod.status ?? {};
  const labels = metadata.labels ?? {};
  const phase = PHASES.has(status.phase as PodView["phase"])
    ? (status.phase as PodView["phase"])
    : "Unknown";
  const conditions = status.conditions ?? [];
  const disruption = conditions.find((c) => c.type === "DisruptionTarget" && c.status === "True");
  const view: PodView = {
    name: metadata.name,
    uid: metadata.uid ?? "",
    requestId: labels[LABEL_REQUEST_ID] ?? "",
    templateId: labels[LABEL_TEMPLATE_ID] ?? "",
    phase,
    ready: conditions.some((c) => c.type === "Ready" && c.status === "True"),
    podIP: status.podIP ?? "",
    nodeName: pod.spec?.nodeName ?? "",
    createdAt: toEpochMs(metadata.creationTimestamp) ?? 0,
    reason: reasonOf(phase, status, conditions) || (disruption ? describe(disruption) : ""),
    disrupted: disruption !== undefined,
    gracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS,
    cooperative: labels[LABEL_DRAIN_POLICY] === "cooperative",
  };
  if (disruption?.reason === PREEMPTION_REASON) {
    view.preempted = disruption.message?.trim() || PREEMPTION_REASON;
  }
  const deletingAt = toEpochMs(metadata.deletionTimestamp);
  if (deletingAt !== undefined) view.deletingAt = deletingAt;
  const waiting = waitingContainers(status);
  if (waiting) view.waiting = waiting;
  return view;
}

/** Containers waiting for something other than their start; undefined when none is. */
function waitingContainers(status: NonNullable<PodLike["status"]>): ContainerWaiting[] | undefined {
  let found: ContainerWaiting[] | undefined;
  for (const [statuses, init] of [
    [status.initContainerStatuses, true],
    [status.containerStatuses, false],
  ] as const) {
    for (const s of statuses ?? []) {
      const waiting = s.state?.waiting;
      if (!waiting?.reason || NORMAL_WAITING_REASONS.has(waiting.reason)) continue;
      found ??= [];
      found.push({
        container: s.name ?? "",
        init,
        reason: waiting.reason,
        message: waiting.message?.trim() ?? "",
      });
    }
  }
  return found;
}

function reasonOf(
  phase: PodView["phase"],
  status: NonNullable<PodLike["status"]>,
  conditions: Condition[],
): string {
  const init = status.initContainerStatuses ?? [];
  const main = status.containerStatuses ?? [];
  switch (phase) {
    case "Pending": {
      const scheduled = conditions.find((c) => c.type === "PodScheduled" && c.status === "False");
      if (scheduled) return scheduled.message || scheduled.reason || "";
      return waitingReason(init) || failedContainer(init, "init container") || waitingReason(main);
    }
    case "Running":
      return waitingReason(main);
    case "Failed":
      return describe(status) || failedContainer(init, "init container") || failedContainer(main);
    case "Unknown":
      return describe(status);
    case "Succeeded":
      return "";
  }
}

function waitingReason(statuses: ContainerStatus[]): string {
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (waiting?.reason && !NORMAL_WAITING_REASONS.has(waiting.reason)) return describe(waiting);
  }
  return "";
}

function failedContainer(statuses: ContainerStatus[], what = "container"): string {
  for (const s of statuses) {
    const terminated = s.state?.terminated;
    if (!terminated || terminated.exitCode === 0) continue;
    const summary = `${what} "${s.name ?? ""}" terminated: ${terminated.reason || "Error"} (exit code ${terminated.exitCode ?? "unknown"})`;
    return terminated.message ? `${summary}: ${terminated.message.trim()}` : summary;
  }
  return "";
}

/** "Reason: message", without repeating a reason the message already starts with. */
function describe(source: { reason?: string; message?: string }): string {
  const reason = source.reason ?? "";
  const message = source.message?.trim() ?? "";
  if (!message) return reason;
  if (!reason || message.startsWith(reason)) return message;
  return `${reason}: ${message}`;
}

function toEpochMs(value: Timestamp | undefined): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
