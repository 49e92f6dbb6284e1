// How the admin commands show things: the contract's messages as plain JSON in HostFactory's
// words (what --json prints), and aligned tables and ages for people.
import type {
  MachineInfo,
  RequestSummary,
  TimelineEntry,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import {
  type Machine,
  MachineResult,
  MachineState,
  RequestKind,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";

const STATUS_NAMES: Record<number, string> = {
  [RequestStatus.REQUEST_STATUS_RUNNING]: "running",
  [RequestStatus.REQUEST_STATUS_COMPLETE]: "complete",
  [RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR]: "complete_with_error",
};
const KIND_NAMES: Record<number, string> = {
  [RequestKind.REQUEST_KIND_CREATE]: "create",
  [RequestKind.REQUEST_KIND_RETURN]: "return",
};
const RESULT_NAMES: Record<number, string> = {
  [MachineResult.MACHINE_RESULT_EXECUTING]: "executing",
  [MachineResult.MACHINE_RESULT_SUCCEED]: "succeed",
  [MachineResult.MACHINE_RESULT_FAIL]: "fail",
};
const STATE_NAMES: Record<number, string> = {
  [MachineState.MACHINE_STATE_PENDING]: "pending",
  [MachineState.MACHINE_STATE_RUNNING]: "running",
  [MachineState.MACHINE_STATE_SHUTTING_DOWN]: "shutting-down",
  [MachineState.MACHINE_STATE_TERMINATED]: "terminated",
};
const SOURCE_NAMES = ["", "record", "pod", "event"];

export const statusName = (status: RequestStatus) => STATUS_NAMES[status] ?? "unknown";
export const kindName = (kind: RequestKind) => KIND_NAMES[kind] ?? "unknown";

/** Epoch milliseconds as ISO 8601; null for 0 (not happened). */
export function isoTime(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

export function requestView(summary: RequestSummary) {
  return {
    requestId: summary.requestId,
    kind: kindName(summary.kind),
    templateId: summary.templateId,
    status: statusName(summary.status),
    message: summary.message,
    machineCount: summary.machineCount,
    executing: summary.executingCount,
    succeeded: summary.succeededCount,
    failed: summary.failedCount,
    createdAt: isoTime(summary.createTimeMs),
    completedAt: isoTime(summary.completeTimeMs),
    rcAccount: summary.rcAccount,
  };
}

/** A machine as HostFactory's getRequestStatus reports it. */
export function hostFactoryMachineView(machine: Machine) {
  return {
    machineId: machine.machineId,
    name: machine.name,
    result: RESULT_NAMES[machine.result] ?? "unknown",
    status: STATE_NAMES[machine.status] ?? "unknown",
    privateIpAddress: machine.privateIpAddress,
    launchtime: machine.launchtime,
    message: machine.message,
  };
}

export function machineView(machine: MachineInfo) {
  return {
    name: machine.name,
    machineId: machine.machineId,
    requestId: machine.requestId,
    templateId: machine.templateId,
    phase: machine.phase,
    ready: machine.ready,
    node: machine.nodeName,
    ip: machine.podIp,
    createdAt: isoTime(machine.createTimeMs),
    deletingBy: isoTime(machine.deleteTimeMs),
    reason: machine.reason,
    returning: machine.returning,
    orphan: machine.orphan,
  };
}

export function timelineView(entry: TimelineEntry) {
  return {
    time: isoTime(entry.timeMs),
    machine: entry.machine,
    what: entry.what,
    detail: entry.detail,
    source: SOURCE_NAMES[entry.source] ?? "unknown",
    warning: entry.warning,
  };
}

/** How long ago, in the largest unit that fits: 42s, 5m, 3h, 2d. */
export function age(sinceMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Columns padded to their widest cell; the last column is left as is. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[headers, ...rows].map(line).join("\n")}\n`;
}

/** A two-column list of label and value. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return `${pairs.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join("\n")}\n`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
