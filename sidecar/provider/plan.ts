// The reconciler's decisions, as a pure function of what the caches show: which pods to create
// or delete, what to write into records, which records to forget. The reconciler only carries
// the plan out (rate-limited, with expectations), so every rule here is testable by table.

import type { Template } from "../../templates/parse.ts";
import { cannotStart, type FailFastPolicy } from "./fast-failure.ts";
import type { CreateRecord, PodView, RequestRecord, ReturnRecord } from "./model.ts";
import { podName, podNameOfMachine } from "./naming.ts";
import {
  createRequestStatus,
  podFailure,
  preemptionFailure,
  returnRequestStatus,
  type SeenPod,
} from "./request-status.ts";

export interface World {
  records: Iterable<RequestRecord>;
  pod: (name: string) => PodView | undefined;
  pods: () => Iterable<PodView>;
  /** What is kept of a pod once it is gone (whether it was preempted). */
  lastSeen?: (podName: string) => SeenPod | undefined;
  /** Whether a record of this request exists. */
  hasRecord: (requestId: string) => boolean;
  /** Whether any pod of this request still exists. */
  hasPods: (requestId: string) => boolean;
  template: (templateId: string) => Template | undefined;
  isReturning: (podName: string) => boolean;
  /** A create for this pod is in flight or done but not yet seen in the cache. */
  isExpected: (podName: string) => boolean;
  /** The last error a create for this request met, for the message if it never succeeds. */
  lastCreateError: (requestId: string) => string | undefined;
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  /** The Pending timeout of a request whose template has since been removed. */
  defaultPendingTimeoutSeconds: number;
  /** Which waiting reasons fail a machine before its timeout, and after how long. */
  failFast: FailFastPolicy;
  /** Since when (epoch milliseconds) the pod has shown a listed waiting reason without a break,
   * as far as the caller has seen; undefined when it has not been seen doing so. */
  cannotStartSince: (podName: string) => number | undefined;
  /** The pod the scheduler preempted this one for, as its Event names it; "" when that could not
   * be learned, undefined when it has not been looked up yet. */
  preemptor: (podName: string) => string | undefined;
  /** How long completed records are kept, in milliseconds. */
  retentionMs: number;
  now: number;
}

export interface RecordUpdate {
  requestId: string;
  failures: Map<number, string>;
  settled?: boolean;
  completedAt?: number;
}

export interface Plan {
  create: { requestId: string; index: number; template: Template; rcAccount: string }[];
  /** Pod names to delete (ours, not being deleted yet). */
  delete: string[];
  updates: RecordUpdate[];
  /** Request ids whose records are done and past retention. */
  forget: string[];
  /** Our pods that belong to no request we know (the record is gone, or never existed). */
  orphans: string[];
  /** Pods showing a listed waiting reason whose machines have not failed for it yet: the
   * caller notes when it first saw each (see `World.cannotStartSince`). */
  cannotStart: string[];
  /** Preempted pods whose preemptor is still to be looked up (see `World.preemptor`); their
   * machines fail once it is known. */
  preempted: string[];
}

function planCreate(record: CreateRecord, world: World, plan: Plan): void {
  const template = world.template(record.templateId);
  const failures = new Map<number, string>();
  const timeoutSeconds = template?.pendingTimeoutSeconds ?? world.defaultPendingTimeoutSeconds;
  const timeoutMs = timeoutSeconds * 1000;
  let accounted = 0;
  for (let index = 0; index < record.machineCount; index++) {
    const name = podName(world.podNamePrefix, record.requestId, index);
    const pod = world.pod(name);
    const removable = pod !== undefined && pod.deletingAt === undefined;
    // A returned machine is HostFactory's to end; its return request deletes the pod.
    if (record.failures[index] !== undefined || world.isReturning(name)) {
      accounted++;
      if (removable && record.failures[index] !== undefined) plan.delete.push(name);
      continue;
    }
    // A create still running fails a preempted machine, naming the pod that took its place,
    // also when the pod went before the reconciler saw it: it is never created again.
    const preempted = pod ? pod.preempted : world.lastSeen?.(name)?.preempted;
    let failure: string | undefined;
    if (preempted !== undefined) {
      const preemptor = world.preemptor(name);
      if (preemptor === undefined) plan.preempted.push(name);
      else failure = preemptionFailure(preemptor, preempted);
    } else {
      failure = podFailure(pod, record.settled);
    }
    const creatable = !pod && preempted === undefined;
    if (!failure && creatable && !record.settled && !world.isExpected(name)) {
      if (!template) {
        failure = `template '${record.templateId}' no longer exists`;
      } else if (world.now - record.createdAt > timeoutMs) {
        const why = world.lastCreateError(record.requestId) ?? "no reason given";
        failure = `the pod could not be created within ${timeoutSeconds}s: ${why}`;
      } else {
        plan.create.push({
          requestId: record.requestId,
          index,
          template,
          rcAccount: record.rcAccount,
        });
      }
    }
    // A pod the kubelet keeps from starting fails once it has shown so for the policy's time.
    const stuck = failure || !pod ? undefined : cannotStart(pod, world.failFast.reasons);
    if (stuck) {
      const since = world.cannotStartSince(name) ?? world.now;
      if (world.now - since >= world.failFast.afterMs) failure = stuck;
      else plan.cannotStart.push(name);
    }
    // Only a pod that never started times out: a Running pod whose readiness blips is not failed.
    if (!failure && pod?.phase === "Pending") {
      if (world.now - pod.createdAt > timeoutMs) {
        failure = `Pod stayed Pending for ${timeoutSeconds}s: ${pod.reason || "no reason given"}`;
      }
    }
    if (failure) {
      failures.set(index, failure);
      if (removable) plan.delete.push(name);
    }
    if (failure || pod) accounted++;
  }
  const update: RecordUpdate = { requestId: record.requestId, failures };
  if (!record.settled && accounted === record.machineCount) update.settled = true;
  const after: CreateRecord = {
    ...record,
    failures: { ...record.failures, ...Object.fromEntries(failures) },
  };
  const status = createRequestStatus(after, {
    podNamePrefix: world.podNamePrefix,
    namespace: world.namespace,
    clusterDomain: world.clusterDomain,
    template,
    pod: world.pod,
    isReturning: world.isReturning,
  });
  if (status.status !== "running") update.completedAt = world.now;
  if (failures.size > 0 || update.settled || update.completedAt !== undefined) {
    plan.updates.push(update);
  }
}

/** A returned machine's pod goes, even one that appears after its return completed (a create
 * that was in flight when the machine was returned lands late). */
function planReturn(record: ReturnRecord, world: World, plan: Plan): void {
  record.machines.forEach((machine, index) => {
    const pod = world.pod(podNameOfMachine(machine.name));
    if (record.failures[index] === undefined && pod && pod.deletingAt === undefined) {
      plan.delete.push(pod.name);
    }
  });
  if (record.completedAt !== undefined) return;
  if (returnRequestStatus(record, world.pod).status !== "running") {
    plan.updates.push({ requestId: record.requestId, failures: new Map(), completedAt: world.now });
  }
}

/** A failed machine's pod goes, even one that appears after the request completed. */
function removeFailed(record: CreateRecord, world: World, plan: Plan): void {
  for (const index of Object.keys(record.failures)) {
    const pod = world.pod(podName(world.podNamePrefix, record.requestId, Number(index)));
    if (pod && pod.deletingAt === undefined) plan.delete.push(pod.name);
  }
}

export function planReconcile(world: World): Plan {
  const plan: Plan = {
    create: [],
    delete: [],
    updates: [],
    forget: [],
    orphans: [],
    cannotStart: [],
    preempted: [],
  };
  for (const record of world.records) {
    if (record.completedAt === undefined) {
      if (record.kind === "create") planCreate(record, world, plan);
      else planReturn(record, world, plan);
      continue;
    }
    if (record.kind === "create") removeFailed(record, world, plan);
    else planReturn(record, world, plan);
    if (world.now - record.completedAt > world.retentionMs) {
      // A create record lives as long as its pods: it is what makes them ours to report.
      if (record.kind === "return" || !world.hasPods(record.requestId)) {
        plan.forget.push(record.requestId);
      }
    }
  }
  for (const pod of world.pods()) {
    if (pod.deletingAt === undefined && !world.hasRecord(pod.requestId))
      plan.orphans.push(pod.name);
  }
  plan.delete = [...new Set(plan.delete)];
  return plan;
}
