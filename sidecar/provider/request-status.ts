// How pods and records become HostFactory's view of a request. Pure: the caller passes the
// record, a pod lookup and the time, so every rule is testable with a table of cases.
import type { CreateRecord, PodView, ReturnRecord } from "./model.ts";
import { podName, podNameOfMachine } from "./naming.ts";
import type { Template } from "./templates.ts";

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

/** Why a live machine has failed for good, judged from its pod alone; undefined if it has not. */
export function podFailure(
  pod: PodView | undefined,
  settled: boolean,
  returning: boolean,
): string | undefined {
  if (!pod) {
    if (returning) return "returned before the request completed";
    return settled ? "the pod was deleted before it was running" : undefined;
  }
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

function createMachine(record: CreateRecord, index: number, context: CreateContext): MachineStatus {
  const name = podName(context.podNamePrefix, record.requestId, index);
  const pod = context.pod(name);
  const base = {
    machineId: pod?.uid ?? "",
    name: machineName(name, context.template, context.namespace, context.clusterDomain),
    status: podState(pod),
    privateIpAddress: pod?.podIP ?? "",
    launchtime: seconds(pod?.createdAt ?? record.createdAt),
  };
  const recorded = record.failures[index];
  if (recorded !== undefined) return { ...base, result: "fail", message: recorded };
  // Once final, a request stays final: machines that did not fail had succeeded.
  if (record.completedAt !== undefined) return { ...base, result: "succeed", message: "" };
  const failure = podFailure(pod, record.settled, context.isReturning(name));
  if (failure) return { ...base, result: "fail", message: failure };
  if (pod?.phase === "Running" && pod.ready && pod.deletingAt === undefined) {
    return { ...base, result: "succeed", message: "" };
  }
  const waiting = pod ? pod.reason : "waiting for its pod to be created";
  return { ...base, status: "pending", result: "executing", message: waiting };
}

function summarise(
  requestId: string,
  kind: RequestStatus["kind"],
  templateId: string,
  machines: MachineStatus[],
  noun: string,
): RequestStatus {
  const executing = machines.filter((m) => m.result === "executing").length;
  const failed = machines.filter((m) => m.result === "fail");
  let status: RequestState = "complete";
  let message = "";
  if (executing > 0) {
    status = "running";
    message = `${machines.length - executing} of ${machines.length} machines ${noun}.`;
  } else if (failed.length > 0) {
    status = "complete_with_error";
    message = `${failed.length} of ${machines.length} machines failed: ${failed[0]?.message}`;
  }
  return { requestId, kind, templateId, status, message, machines };
}

export function createRequestStatus(record: CreateRecord, context: CreateContext): RequestStatus {
  const machines = Array.from({ length: record.machineCount }, (_, i) =>
    createMachine(record, i, context),
  );
  return summarise(record.requestId, "create", record.templateId, machines, "done");
}

/** A return request: `succeed` means the machine is gone. */
export function returnRequestStatus(
  record: ReturnRecord,
  pod: (name: string) => PodView | undefined,
): RequestStatus {
  const machines = record.machines.map((machine, index): MachineStatus => {
    const current = pod(podNameOfMachine(machine.name));
    const base = {
      machineId: current?.uid ?? machine.machineId,
      name: machine.name,
      status: podState(current),
      privateIpAddress: current?.podIP ?? "",
      launchtime: seconds(current?.createdAt ?? record.createdAt),
    };
    const recorded = record.failures[index];
    if (recorded !== undefined) return { ...base, result: "fail", message: recorded };
    if (!current) return { ...base, result: "succeed", message: "" };
    const message = current.deletingAt === undefined ? "waiting for deletion" : "being deleted";
    return { ...base, result: "executing", message };
  });
  return summarise(record.requestId, "return", "", machines, "gone");
}

export function unknownRequestStatus(requestId: string): RequestStatus {
  return {
    requestId,
    kind: "unknown",
    templateId: "",
    status: "complete_with_error",
    message: `request '${requestId}' is not known to this provider (never made, or its record has expired)`,
    machines: [],
  };
}
