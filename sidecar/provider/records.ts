// Request records: one ConfigMap per create or return request, the only place a request lives.
// What was asked is written once at creation; what the reconciler learns is added as separate
// `data` keys so that each finding is a conflict-free merge patch, never a read-modify-write.
import { createHash } from "node:crypto";
import {
  type FinalAnswer,
  LABEL_INSTANCE,
  LABEL_RECORD_KIND,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
  MAX_MACHINES_PER_REQUEST,
  type RequestRecord,
} from "./model.ts";
import { recordName } from "./naming.ts";

const KEY_REQUEST = "request";
const KEY_SETTLED = "settled";
const KEY_COMPLETED_AT = "completedAt";
const KEY_FINAL = "final";
/** Empty until HostFactory first asks about a create request; then when it did. Records made
 * before this key existed have none and are never taken for abandoned. */
const KEY_ASKED_AT = "askedAt";
const FAILURE_KEY_PREFIX = "failure.";
const REASON_KEY_PREFIX = "reason.";
/** Kubernetes caps an object at 1 MiB: reasons are kept short, and each distinct reason is stored
 * once (`reason.<hash>`), each failed machine naming it (`failure.<index>` = hash), so that
 * thousands of machines failing for the same reason cost a few bytes each. */
export const MAX_REASON_LENGTH = 300;
const REASON_HASH_LENGTH = 12;

/** A ConfigMap as the API serves it, reduced to what records use. */
export interface ConfigMapLike {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    creationTimestamp?: string | Date;
  };
  data?: Record<string, string>;
}

export type NewCreateRecord = {
  kind: "create";
  requestId: string;
  templateId: string;
  machineCount: number;
  rcAccount: string;
};
export type NewReturnRecord = {
  kind: "return";
  requestId: string;
  machines: { name: string; machineId: string }[];
};

/** The ConfigMap that stores a new request. */
export function recordConfigMap(instance: string, record: NewCreateRecord | NewReturnRecord) {
  const labels: Record<string, string> = {
    [LABEL_INSTANCE]: instance,
    [LABEL_REQUEST_ID]: record.requestId,
    [LABEL_RECORD_KIND]: record.kind,
  };
  const { kind: _kind, requestId: _id, ...asked } = record;
  const data: Record<string, string> = { [KEY_REQUEST]: JSON.stringify(asked) };
  if (record.kind === "create") {
    labels[LABEL_TEMPLATE_ID] = record.templateId;
    data[KEY_ASKED_AT] = "";
  }
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: recordName(record.requestId), labels },
    data,
  };
}

function shorten(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH ? reason : `${reason.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/** A merge patch recording findings: failures by machine index, settled, completion, and
 * when HostFactory first asked. */
export function recordPatch(findings: {
  failures?: Map<number, string>;
  settled?: boolean;
  completedAt?: number;
  askedAt?: number;
}): { data: Record<string, string> } {
  const data: Record<string, string> = {};
  for (const [index, reason] of findings.failures ?? []) {
    const text = shorten(reason);
    const hash = createHash("sha256").update(text).digest("hex").slice(0, REASON_HASH_LENGTH);
    data[`${REASON_KEY_PREFIX}${hash}`] = text;
    data[`${FAILURE_KEY_PREFIX}${index}`] = hash;
  }
  if (findings.settled) data[KEY_SETTLED] = "true";
  if (findings.completedAt !== undefined) {
    data[KEY_COMPLETED_AT] = new Date(findings.completedAt).toISOString();
  }
  if (findings.askedAt !== undefined) {
    data[KEY_ASKED_AT] = new Date(findings.askedAt).toISOString();
  }
  return { data };
}

/**
 * A merge patch storing a request's final answer, applied only if the record is still at
 * `resourceVersion` (the API server answers 409 Conflict otherwise): of two replicas finalizing
 * at once, one wins and the other reads the winner's answer. A final create request has every
 * machine accounted for, so it is settled as well.
 */
export function finalPatch(
  kind: RequestRecord["kind"],
  final: FinalAnswer,
  resourceVersion: string,
): { metadata: { resourceVersion: string }; data: Record<string, string> } {
  const data: Record<string, string> = { [KEY_FINAL]: JSON.stringify(final) };
  if (kind === "create") data[KEY_SETTLED] = "true";
  return { metadata: { resourceVersion }, data };
}

function parseFinal(text: string | undefined, machines: number): FinalAnswer | undefined {
  if (text === undefined) return undefined;
  let value: Partial<FinalAnswer>;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { status, at, failed, machineIds } = value ?? {};
  const index = (i: unknown) =>
    Number.isInteger(i) && (i as number) >= 0 && (i as number) < machines;
  if (
    (status !== "complete" && status !== "complete_with_error") ||
    typeof at !== "number" ||
    !Array.isArray(failed) ||
    !failed.every(index) ||
    (status === "complete") !== (failed.length === 0) ||
    !Array.isArray(machineIds) ||
    !machineIds.every((id) => typeof id === "string")
  ) {
    return undefined;
  }
  return { status, at, failed, machineIds };
}

function isMachineList(value: unknown): value is { name: string; machineId: string }[] {
  return (
    Array.isArray(value) &&
    value.every((m) => typeof m?.name === "string" && typeof m?.machineId === "string")
  );
}

/** The record a ConfigMap holds, or undefined when it is not a well-formed record. */
export function parseRecord(configMap: ConfigMapLike): RequestRecord | undefined {
  const labels = configMap.metadata?.labels ?? {};
  const data = configMap.data ?? {};
  const requestId = labels[LABEL_REQUEST_ID];
  const created = configMap.metadata?.creationTimestamp;
  if (!requestId || created === undefined || data[KEY_REQUEST] === undefined) return undefined;
  let asked: Record<string, unknown>;
  try {
    asked = JSON.parse(data[KEY_REQUEST]);
  } catch {
    return undefined;
  }
  const failures: Record<number, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key.startsWith(FAILURE_KEY_PREFIX)) {
      failures[Number(key.slice(FAILURE_KEY_PREFIX.length))] =
        data[`${REASON_KEY_PREFIX}${value}`] ?? "failed (reason not recorded)";
    }
  }
  const common = {
    requestId,
    createdAt: new Date(created).getTime(),
    failures,
    ...(data[KEY_COMPLETED_AT] ? { completedAt: Date.parse(data[KEY_COMPLETED_AT]) } : {}),
  };
  const kind = labels[LABEL_RECORD_KIND];
  if (kind === "create") {
    const { templateId, machineCount, rcAccount } = asked;
    const count = Number(machineCount);
    const countOk = Number.isInteger(count) && count >= 1 && count <= MAX_MACHINES_PER_REQUEST;
    if (typeof templateId !== "string" || !countOk) return undefined;
    const final = parseFinal(data[KEY_FINAL], count);
    return {
      kind,
      ...common,
      templateId,
      machineCount: machineCount as number,
      rcAccount: typeof rcAccount === "string" ? rcAccount : "",
      settled: data[KEY_SETTLED] === "true",
      ...(final ? { final } : {}),
      ...(data[KEY_ASKED_AT] === "" ? { unasked: true } : {}),
    };
  }
  if (kind === "return" && isMachineList(asked.machines)) {
    const final = parseFinal(data[KEY_FINAL], asked.machines.length);
    return { kind, ...common, machines: asked.machines, ...(final ? { final } : {}) };
  }
  return undefined;
}
