/** One thing the simulated cluster did, for tests to assert on and people to read. */
export interface SimulatorEvent {
  /** When, as an ISO 8601 timestamp. */
  time: string;
  /** What happened: "scheduled", "unschedulable", "started", "failed", "evicted", "fault", ... */
  kind: string;
  /** The object concerned, as "namespace/name" or "name" for cluster-scoped objects. */
  object?: string;
  message: string;
}

/** A bounded log of what happened in the simulated cluster, oldest first. */
export interface EventLog {
  entries(kind?: string): SimulatorEvent[];
  clear(): void;
  record(kind: string, message: string, object?: string): void;
}

/** Entries kept; older ones are dropped first. */
export const EVENT_LOG_CAPACITY = 10_000;

export function createEventLog(now: () => Date): EventLog {
  let log: SimulatorEvent[] = [];
  return {
    entries(kind) {
      return kind === undefined ? [...log] : log.filter((entry) => entry.kind === kind);
    },
    clear() {
      log = [];
    },
    record(kind, message, object) {
      log.push({ time: now().toISOString(), kind, ...(object ? { object } : {}), message });
      if (log.length > EVENT_LOG_CAPACITY * 1.25) log = log.slice(-EVENT_LOG_CAPACITY);
    },
  };
}
