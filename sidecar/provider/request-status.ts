// How pods and records become HostFactory's view of a request. Pure: the caller passes the
// record, a pod lookup and the time, so every rule is testable with a table of cases.

import type { Template } from "../../templates/parse.ts";
import { excerpt } from "./errors.ts";
import type { CreateRecord, FinalAnswer, PodView, ReturnRecord } from "./model.ts";
import { podName, podNameOfMachine } from "./naming.ts";

export type MachineResult = "executing" | "succeed" | "fail";
export type MachineState = "pending" | "running" | "shutting-down" | "terminated";
export type RequestState = "running" | "complete" | "complete_with_error";

export interface MachineStatus {
  machineId: string;
  name: string;
  result: MachineResult;
  status: MachineState;
  privateIpAddress: string;
  /** Epoch seconds. */
  launchtime: number;
  message: string;
}

export interface RequestStatus {
  requestId: string;
  kind: "create" | "return" | "unknown";
  templateId: string;
  status: RequestState;
  message: string;
  machines: MachineStatus[];
}

export interface CreateContext {
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  /** The request's template, when it still exists (for the name HostFactory is given). */
  template: Template | undefined;
  pod: (name: string) => PodView | undefined;
  /** Whether a live return request covers this pod name. */
  isReturning: (podName: string) => boolean;
  /** A pod as last seen, also after it is gone (its machineId and launchtime stay). */
  lastSeen?: (podName: string) => SeenPod | undefined;
}

/** What is kept of a pod once it is gone. */
export interface SeenPod {
  uid: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** What it showed of its preemption (see `PodView.preempted`), absent when not preempted. */
  preempted?: string;
}

/** The name HostFactory is given for a pod: its hostname, or the FQDN its template asks for. */
export function machineName(
  pod: string,
  template: Template | undefined,
  namespace: string,
  clusterDomain: string,
): string {
  if (template?.hostnameStyle !== "fqdn" || !template.subdomain) return pod;
  return `${pod}.${template.subdomain}.${namespace}.svc.${clusterDomain}`;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * Why a preempted machine failed. `preemptor` is the pod the scheduler made room for, as its
 * Preempted Event names it ("namespace/name", or "pod <uid> on node <node>"), or "" when that
 * could not be learned: the scheduler's own words (`preempted`, from the pod's DisruptionTarget
 * condition) stand in.
 */
export function preemptionFailure(preemptor: string, preempted: string): string {
  return preemptor
    ? `preempted by ${preemptor}`
    : `preempted by a higher-priority pod (${preempted})`;
}

/** Why a live machine has failed for good, judged from its pod alone; undefined if it has not.
 * A preempted pod is judged by the reconciler, which learns who preempted it. */
export function podFailure(pod: PodView | undefined, settled: boolean): string | undefined {
  if (!pod)
    return settled
      ? "the pod is gone (deleted or evicted before the request completed)"
      : undefined;
  if (pod.preempted !== undefined) return undefined;
  if (pod.phase === "Failed") return `the pod failed: ${pod.reason || "no reason given"}`;
  if (pod.phase === "Succeeded")
    return `the pod exited: ${pod.reason || "all containers completed"}`;
  if (pod.deletingAt !== undefined && !pod.ready) {
    return "the pod was deleted before it was running";
  }
  return undefined;
}

function podState(pod: PodView | undefined): MachineState {
  if (!pod) return "terminated";
  if (pod.deletingAt !== undefined) return "shutting-down";
  if (pod.phase === "Running") return "running";
  if (pod.phase === "Pending" || pod.phase === "Unknown") return "pending";
  return "terminated";
}

/** The pod names of a record's machines and the names HostFactory is given for them. */
interface Names {
  podNames: string[];
  machineNames: string[];
}

/**
 * Names by request, built once: polls and reconcile passes ask for the same thousands of names
 * again and again, with records that are often fresh copies (the reconciler plans on a copy
 * carrying its new findings), so the cache is keyed by what the names are made of. The names of
 * the requests used last are kept, up to a number of machines; older ones are named anew.
 */
const namesCache = new Map<string, Names>();
/** Machines whose names are kept, at most: room for every live machine of a large provider. */
const NAMES_CACHE_MACHINES = 50_000;
let cachedMachines = 0;

function namesOf(record: CreateRecord, context: CreateContext): Names {
  const { template } = context;
  const key = `${record.requestId}/${record.machineCount}/${context.podNamePrefix}/${template?.hostnameStyle}/${template?.subdomain}/${context.namespace}/${context.clusterDomain}`;
  const cached = namesCache.get(key);
  if (cached) {
    namesCache.delete(key);
    namesCache.set(key, cached);
    return cached;
  }
  const podNames: string[] = [];
  const machineNames: string[] = [];
  for (let index = 0; index < record.machineCount; index++) {
    const pod = podName(context.podNamePrefix, record.requestId, index);
    podNames.push(pod);
    machineNames.push(machineName(pod, template, context.namespace, context.clusterDomain));
  }
  const names = { podNames, machineNames };
  namesCache.set(key, names);
  cachedMachines += podNames.length;
  for (const [oldest, evicted] of namesCache) {
    if (cachedMachines <= NAMES_CACHE_MACHINES || oldest === key) break;
    namesCache.delete(oldest);
    cachedMachines -= evicted.podNames.length;
  }
  return names;
}

/** A machine's status; one whose pod was never seen has no machineId and no launchtime (0). */
function machine(
  pod: PodView | undefined,
  seen: SeenPod | undefined,
  name: string,
  result: MachineResult,
  message: string,
  status: MachineState = podState(pod),
): MachineStatus {
  const createdAt = pod?.createdAt ?? seen?.createdAt;
  return {
    machineId: pod?.uid ?? seen?.uid ?? "",
    name,
    result,
    status,
    privateIpAddress: pod?.podIP ?? "",
    launchtime: createdAt === undefined ? 0 : seconds(createdAt),
    message,
  };
}

/** The answer frozen in `final`: its failed machines fail, every other one had succeeded. */
function finalMachine(
  final: FinalAnswer,
  failed: ReadonlySet<number>,
  record: CreateRecord,
  index: number,
  podName: string,
  name: string,
  context: CreateContext,
): MachineStatus {
  const pod = context.pod(podName);
  const seen = pod ? undefined : context.lastSeen?.(podName);
  let answer: MachineStatus;
  if (failed.has(index)) {
    const why = record.failures[index] ?? podFailure(pod, true) ?? "failed (reason not recorded)";
    answer = machine(pod, seen, name, "fail", why);
  } else {
    answer = machine(pod, seen, name, "succeed", context.isReturning(podName) ? "returned" : "");
  }
  // The id HostFactory was given stays, whatever became of the pod.
  answer.machineId = final.machineIds[index] || answer.machineId;
  return answer;
}

function createMachine(
  record: CreateRecord,
  index: number,
  names: Names,
  context: CreateContext,
): MachineStatus {
  const podName = names.podNames[index] as string;
  const name = names.machineNames[index] as string;
  const pod = context.pod(podName);
  const seen = pod ? undefined : context.lastSeen?.(podName);
  const recorded = record.failures[index];
  if (recorded !== undefined) return machine(pod, seen, name, "fail", recorded);
  // HostFactory returns only machines it was told had succeeded.
  if (context.isReturning(podName)) {
    return machine(pod, seen, name, "succeed", "returned");
  }
  // Once final, a request stays final: machines that did not fail had succeeded.
  if (record.completedAt !== undefined) return machine(pod, seen, name, "succeed", "");
  // Until the reconciler records who preempted it, a preempted machine is neither up nor failed.
  const preempted = pod ? pod.preempted : seen?.preempted;
  if (preempted !== undefined) {
    return machine(pod, seen, name, "executing", `being preempted: ${preempted}`);
  }
  const failure = podFailure(pod, record.settled);
  if (failure) return machine(pod, seen, name, "fail", failure);
  // Ready is what HostFactory waits for; a Ready pod being deleted did start (shutting-down).
  if (pod?.phase === "Running" && pod.ready) {
    return machine(pod, seen, name, "succeed", "");
  }
  const waiting = pod ? pod.reason : "waiting for its pod to be created";
  return machine(pod, seen, name, "executing", waiting, "pending");
}

function summarise(
  requestId: string,
  kind: RequestStatus["kind"],
  templateId: string,
  machines: MachineStatus[],
  noun: string,
): RequestStatus {
  let executing = 0;
  let failed = 0;
  let firstFailure: MachineStatus | undefined;
  for (const machine of machines) {
    if (machine.result === "executing") executing++;
    else if (machine.result === "fail") {
      failed++;
      firstFailure ??= machine;
    }
  }
  let status: RequestState = "complete";
  let message = "";
  if (executing > 0) {
    status = "running";
    message = `${machines.length - executing} of ${machines.length} machines ${noun}.`;
  } else if (failed > 0) {
    status = "complete_with_error";
    message = `${failed} of ${machines.length} machines failed: ${firstFailure?.message}`;
  }
  return { requestId, kind, templateId, status, message, machines };
}

export function createRequestStatus(record: CreateRecord, context: CreateContext): RequestStatus {
  const names = namesOf(record, context);
  const machines: MachineStatus[] = new Array(record.machineCount);
  const { final } = record;
  const failed = new Set(final?.failed);
  for (let index = 0; index < record.machineCount; index++) {
    machines[index] = final
      ? finalMachine(
          final,
          failed,
          record,
          index,
          names.podNames[index] as string,
          names.machineNames[index] as string,
          context,
        )
      : createMachine(record, index, names, context);
  }
  return summarise(record.requestId, "create", record.templateId, machines, "done");
}

/** A return request: `succeed` means the machine is gone. */
export function returnRequestStatus(
  record: ReturnRecord,
  pod: (name: string) => PodView | undefined,
): RequestStatus {
  const failed = new Set(record.final?.failed);
  const machines = record.machines.map((returned, index): MachineStatus => {
    const current = pod(podNameOfMachine(returned.name));
    const recorded = record.failures[index];
    let result: MachineResult = recorded !== undefined ? "fail" : current ? "executing" : "succeed";
    if (record.final) result = failed.has(index) ? "fail" : "succeed";
    const message =
      result === "fail"
        ? (recorded ?? "the pod could not be deleted")
        : !current
          ? ""
          : current.deletingAt === undefined
            ? "waiting for deletion"
            : "being deleted";
    const status = machine(current, undefined, returned.name, result, message);
    if (!current) status.machineId = returned.machineId;
    return status;
  });
  return summarise(record.requestId, "return", "", machines, "gone");
}

/** The final answer to store for a status that has just become final. */
export function finalAnswerOf(status: RequestStatus, at: number): FinalAnswer {
  if (status.status === "running") throw new Error(`${status.requestId} is not final`);
  const failed: number[] = [];
  status.machines.forEach((m, index) => {
    if (m.result === "fail") failed.push(index);
  });
  const machineIds = status.kind === "create" ? status.machines.map((m) => m.machineId) : [];
  return { status: status.status, at, failed, machineIds };
}

export function unknownRequestStatus(requestId: string): RequestStatus {
  return {
    requestId,
    kind: "unknown",
    templateId: "",
    status: "complete_with_error",
    message: `request '${excerpt(requestId)}' is not known to this provider (never made, or its record has expired)`,
    machines: [],
  };
}
