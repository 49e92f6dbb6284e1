// What happened to a request, oldest first, told from the three places Kubernetes keeps it: the
// request record (asked, completed), the pods' own timestamps (created, scheduled, ready,
// containers exited, deletion requested) and the Events about the pods and the record
// (FailedScheduling, Killing, MachineFailed, …). Pure: the caller reads the objects.
import type { RequestRecord } from "../provider/model.ts";
import type { RequestStatus } from "../provider/request-status.ts";

export interface TimelineEntry {
  /** Epoch milliseconds. */
  timeMs: number;
  /** The pod concerned; "" for the request as a whole. */
  machine: string;
  what: string;
  detail: string;
  source: "record" | "pod" | "event";
  warning: boolean;
}

type Timestamp = Date | string | null | undefined;

/** The fields of a Pod (raw JSON or client-node's V1Pod) the timeline reads. */
export interface TimelinePod {
  metadata?: {
    name?: string;
    creationTimestamp?: Timestamp;
    deletionTimestamp?: Timestamp;
    deletionGracePeriodSeconds?: number;
  };
  spec?: { nodeName?: string };
  status?: {
    conditions?: { type?: string; status?: string; lastTransitionTime?: Timestamp }[];
    containerStatuses?: {
      name?: string;
      state?: { terminated?: { exitCode?: number; reason?: string; finishedAt?: Timestamp } };
    }[];
  };
}

/** The fields of a core/v1 Event the timeline reads. */
export interface TimelineEvent {
  metadata?: { creationTimestamp?: Timestamp };
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: Timestamp;
  lastTimestamp?: Timestamp;
  eventTime?: Timestamp;
}

/** How many returned machines a "return requested" entry names before it says "and N more". */
const NAMES_SHOWN = 5;
/**
 * Kubernetes keeps most times to the second, so many entries share one; they are ordered by how
 * a machine's life goes. Event reasons not listed sit with the scheduling and starting ones.
 */
const STAGE: Record<string, number> = {
  requested: 0,
  "return requested": 0,
  "pod created": 1,
  scheduled: 2,
  Scheduled: 2,
  ready: 4,
  "container exited": 5,
  "deletion requested": 6,
  Killing: 6,
  complete: 7,
  "complete with error": 7,
};
const OTHER_STAGE = 3;

function millis(time: Timestamp): number | undefined {
  if (time === null || time === undefined || time === "") return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function recordEntries(record: RequestRecord, status: RequestStatus): TimelineEntry[] {
  const entry = (timeMs: number, what: string, detail: string, warning = false) => ({
    timeMs,
    machine: "",
    what,
    detail,
    source: "record" as const,
    warning,
  });
  const entries: TimelineEntry[] = [];
  if (record.kind === "create") {
    const account = record.rcAccount ? ` for ${record.rcAccount}` : "";
    entries.push(
      entry(
        record.createdAt,
        "requested",
        `${plural(record.machineCount, "machine")} of template ${record.templateId}${account}`,
      ),
    );
  } else {
    const names = record.machines.map((m) => m.name);
    const more = names.length > NAMES_SHOWN ? `, and ${names.length - NAMES_SHOWN} more` : "";
    entries.push(
      entry(
        record.createdAt,
        "return requested",
        `${plural(names.length, "machine")}: ${names.slice(0, NAMES_SHOWN).join(", ")}${more}`,
      ),
    );
  }
  if (record.completedAt !== undefined && status.status !== "running") {
    const failed = status.status === "complete_with_error";
    entries.push(
      entry(
        record.completedAt,
        failed ? "complete with error" : "complete",
        status.message,
        failed,
      ),
    );
  }
  return entries;
}

function podEntries(pod: TimelinePod, scheduledByEvent: boolean): TimelineEntry[] {
  const machine = pod.metadata?.name ?? "";
  const entries: TimelineEntry[] = [];
  const add = (time: Timestamp, what: string, detail = "", warning = false) => {
    const timeMs = millis(time);
    if (timeMs !== undefined) {
      entries.push({ timeMs, machine, what, detail, source: "pod", warning });
    }
  };
  add(pod.metadata?.creationTimestamp, "pod created");
  const condition = (type: string) =>
    pod.status?.conditions?.find((c) => c.type === type && c.status === "True");
  if (!scheduledByEvent) {
    const node = pod.spec?.nodeName ? `on ${pod.spec.nodeName}` : "";
    add(condition("PodScheduled")?.lastTransitionTime, "scheduled", node);
  }
  add(condition("Ready")?.lastTransitionTime, "ready");
  for (const container of pod.status?.containerStatuses ?? []) {
    const exit = container.state?.terminated;
    if (!exit) continue;
    const code = exit.exitCode ?? 0;
    add(
      exit.finishedAt,
      "container exited",
      `${container.name ?? "container"}: ${exit.reason ?? "exited"} (exit code ${code})`,
      code !== 0,
    );
  }
  const deadline = millis(pod.metadata?.deletionTimestamp);
  if (deadline !== undefined) {
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? 0;
    add(new Date(deadline - grace * 1000), "deletion requested", `grace period ${grace}s`);
  }
  return entries;
}

function eventEntry(event: TimelineEvent): TimelineEntry | undefined {
  const timeMs =
    millis(event.firstTimestamp) ??
    millis(event.eventTime) ??
    millis(event.metadata?.creationTimestamp);
  if (timeMs === undefined) return undefined;
  const count = event.count ?? 1;
  const last = millis(event.lastTimestamp);
  const repeated =
    count > 1
      ? ` (${count} times${last !== undefined ? `, last at ${new Date(last).toISOString()}` : ""})`
      : "";
  return {
    timeMs,
    machine: event.involvedObject?.kind === "Pod" ? (event.involvedObject.name ?? "") : "",
    what: event.reason ?? "",
    detail: `${event.message ?? ""}${repeated}`,
    source: "event",
    warning: event.type === "Warning",
  };
}

/**
 * The request's timeline. `pods` are its pods as they are now; `events` those about its pods
 * or its record (the caller selects them). A return request's machines lived before it: only
 * what happened to them since it was asked is told. Entries at the same time are ordered by
 * stage, then keep the order record, pods, events.
 */
export function requestTimeline(input: {
  record: RequestRecord;
  status: RequestStatus;
  pods: TimelinePod[];
  events: TimelineEvent[];
}): TimelineEntry[] {
  const scheduled = new Set(
    input.events
      .filter((e) => e.reason === "Scheduled" && e.involvedObject?.kind === "Pod")
      .map((e) => e.involvedObject?.name),
  );
  const since = input.record.kind === "return" ? input.record.createdAt : Number.NEGATIVE_INFINITY;
  const entries = [
    ...recordEntries(input.record, input.status),
    ...[
      ...input.pods.flatMap((pod) => podEntries(pod, scheduled.has(pod.metadata?.name))),
      ...input.events.flatMap((event) => eventEntry(event) ?? []),
    ].filter((entry) => entry.timeMs >= since),
  ];
  const stage = (entry: TimelineEntry) => STAGE[entry.what] ?? OTHER_STAGE;
  // Array.prototype.sort is stable: full ties keep the order above.
  return entries.sort((a, b) => a.timeMs - b.timeMs || stage(a) - stage(b));
}
