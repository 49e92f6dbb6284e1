// Create requests HostFactory never asks about: the client died after the record was stored and
// before HostFactory read the id, or HostFactory lost it. Nobody would ever return their
// machines, so once a request has gone unasked for a period the leader fails all its machines
// (a write conditional on the record's version, so a question that lands first wins) and the
// reconciler deletes their pods as it does for any failed machine.
import type { Logger } from "pino";
import type { RecordStore } from "../kube/record-store.ts";
import type { CreateRecord, RequestRecord } from "../provider/model.ts";
import type { ClusterState } from "./cluster-state.ts";

/** HostFactory polls a request every few seconds to a minute; five minutes is well past that. */
export const DEFAULT_ABANDON_AFTER_SECONDS = 300;
/** Longest pause between two looks for abandoned requests. */
const MAX_CHECK_INTERVAL_MS = 5_000;

export interface AbandonedRequestsOptions {
  /** How long a create request may go unasked before it is abandoned. */
  abandonAfterMs: number;
  state: Pick<ClusterState, "records">;
  records: Pick<RecordStore, "readVersioned" | "failIfAt">;
  /** Told of each request abandoned, with how many machines failed with it. */
  onAbandoned?: (record: CreateRecord, machines: number) => void;
  logger: Logger;
}

export interface AbandonedRequests {
  /** Looks every so often, while this replica leads. */
  start(): void;
  stop(): void;
  /** One look: abandons every create request unasked for longer than the period. */
  check(): Promise<void>;
}

function isAbandoned(record: RequestRecord, now: number, afterMs: number): boolean {
  if (record.kind !== "create" || !record.unasked || record.final) return false;
  if (now - record.createdAt <= afterMs) return false;
  return Object.keys(record.failures).length < record.machineCount;
}

export function createAbandonedRequests(options: AbandonedRequestsOptions): AbandonedRequests {
  const { abandonAfterMs, state, records, logger } = options;
  const seconds = Math.round(abandonAfterMs / 1000);
  const reason = `abandoned: HostFactory never asked about this request within ${seconds}s (its id was likely never delivered)`;
  const inFlight = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const abandon = async (requestId: string): Promise<void> => {
    const fresh = await records.readVersioned(requestId);
    const record = fresh?.record;
    if (!fresh || record?.kind !== "create" || !isAbandoned(record, Date.now(), abandonAfterMs)) {
      return;
    }
    const failures = new Map<number, string>();
    for (let index = 0; index < record.machineCount; index++) {
      if (record.failures[index] === undefined) failures.set(index, reason);
    }
    if (!(await records.failIfAt(requestId, failures, fresh.resourceVersion))) return;
    logger.warn({ requestId, machines: failures.size, seconds }, "request abandoned");
    options.onAbandoned?.(record, failures.size);
  };

  const check = async (): Promise<void> => {
    const now = Date.now();
    const due = [...state.records()].filter(
      (record) => !inFlight.has(record.requestId) && isAbandoned(record, now, abandonAfterMs),
    );
    await Promise.all(
      due.map(async ({ requestId }) => {
        inFlight.add(requestId);
        try {
          await abandon(requestId);
        } catch (error) {
          logger.warn({ requestId, err: (error as Error).message }, "cannot abandon request yet");
        } finally {
          inFlight.delete(requestId);
        }
      }),
    );
  };

  return {
    start() {
      if (timer) return;
      const intervalMs = Math.min(MAX_CHECK_INTERVAL_MS, Math.max(100, abandonAfterMs / 4));
      timer = setInterval(() => void check(), intervalMs);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    check,
  };
}
