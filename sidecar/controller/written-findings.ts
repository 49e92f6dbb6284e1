// Read-your-writes for request records. The reconciler writes findings (failed machines, a
// create request settled, a request completed) and its record cache shows them only when the
// watch delivers the write. A pass that runs in between would plan from the old record and could
// contradict what was just written: fail again a machine already failed (with a different
// reason), or fail machines of a request it already completed. So what was written is kept here
// and laid over the cached records until the cache shows it.
import type { RequestRecord } from "../provider/model.ts";
import type { RecordUpdate } from "../provider/plan.ts";

/** What a successful write of findings added to what was written before. */
export interface NotedFindings {
  /** Failures not written for the request before, by machine index. */
  fresh: ReadonlyMap<number, string>;
  /** Whether this write is the first to complete the request. */
  completed: boolean;
}

export interface WrittenFindings {
  /** Notes findings the API server accepted for `requestId`; says which are new. */
  note(requestId: string, findings: Omit<RecordUpdate, "requestId">): NotedFindings;
  /**
   * The records with what was written laid over them: a failure or completion the cache shows
   * wins over the one written (the record is the truth once it shows one).
   */
  overlay(cached: Iterable<RequestRecord>): Iterable<RequestRecord>;
  /** Machines that failed in `record` or in what was written for it. */
  failedCount(record: RequestRecord): number;
  /** Forgets what the cache now shows in full, and everything about records that are gone. */
  prune(record: (requestId: string) => RequestRecord | undefined): void;
  /** Requests with findings the cache does not show yet. */
  readonly size: number;
  clear(): void;
}

interface Findings {
  failures: Map<number, string>;
  settled: boolean;
  completedAt?: number;
}

export function createWrittenFindings(): WrittenFindings {
  const written = new Map<string, Findings>();

  const shows = (record: RequestRecord, findings: Findings): boolean =>
    [...findings.failures.keys()].every((i) => record.failures[i] !== undefined) &&
    (!findings.settled || record.kind !== "create" || record.settled) &&
    (findings.completedAt === undefined || record.completedAt !== undefined);

  return {
    note(requestId, findings) {
      const known: Findings = written.get(requestId) ?? { failures: new Map(), settled: false };
      written.set(requestId, known);
      const fresh = new Map([...findings.failures].filter(([i]) => !known.failures.has(i)));
      for (const [index, reason] of fresh) known.failures.set(index, reason);
      known.settled ||= findings.settled === true;
      const completed = findings.completedAt !== undefined && known.completedAt === undefined;
      if (completed) known.completedAt = findings.completedAt;
      return { fresh, completed };
    },
    *overlay(cached) {
      for (const record of cached) {
        const findings = written.get(record.requestId);
        if (!findings) {
          yield record;
          continue;
        }
        const failures = { ...Object.fromEntries(findings.failures), ...record.failures };
        const completedAt = record.completedAt ?? findings.completedAt;
        const merged = {
          ...record,
          failures,
          ...(completedAt === undefined ? {} : { completedAt }),
        };
        yield merged.kind === "create"
          ? { ...merged, settled: merged.settled || findings.settled }
          : merged;
      }
    },
    failedCount(record) {
      const indexes = [
        ...Object.keys(record.failures),
        ...(written.get(record.requestId)?.failures.keys() ?? []),
      ];
      return new Set(indexes.map(String)).size;
    },
    prune(record) {
      for (const [requestId, findings] of written) {
        const current = record(requestId);
        if (!current || shows(current, findings)) written.delete(requestId);
      }
    },
    get size() {
      return written.size;
    },
    clear() {
      written.clear();
    },
  };
}
