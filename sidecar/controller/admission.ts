// Admission of create requests against a template's maxNumber, held across any number of
// replicas: a request is granted its machines in the reservation ledger (a conditional write on
// the version just read) before its record is stored, and a grant counts until the record it
// stands for reaches this replica's cache. Of two replicas admitting at once, one write wins and
// the other reads again, so both see each other's machines.

import type { LedgerEntry, LedgerStore } from "../kube/reservation-ledger.ts";
import type { ClusterState } from "./cluster-state.ts";

/** A grant outlives its record's arrival in the caches by no more than this. */
export const GRANT_TTL_MS = 60_000;
/** Tries at a conditional write while other replicas' writes come first. */
export const MAX_ADMISSION_ATTEMPTS = 20;
/** Longest random pause before trying again after losing a race, in milliseconds. */
const RETRY_JITTER_MS = 50;

export type Admission =
  | { granted: true }
  | { granted: false; available: number }
  | { granted: false; contended: true };

export interface Admitter {
  /** Grants `count` machines of a template to `requestId` if `maxNumber` leaves room. */
  admit(
    requestId: string,
    templateId: string,
    maxNumber: number,
    count: number,
  ): Promise<Admission>;
  /** Withdraws a grant whose request was not stored. */
  release(requestId: string): Promise<void>;
}

export function createAdmitter(ledger: LedgerStore, state: ClusterState): Admitter {
  /** One admission at a time in this replica: its own calls never race each other. */
  let queue: Promise<unknown> = Promise.resolve();

  const pendingOf = (entries: Map<string, LedgerEntry>, templateId: string, now: number) => {
    let total = 0;
    for (const [requestId, entry] of entries) {
      if (entry.templateId !== templateId || entry.until <= now) continue;
      if (!state.record(requestId)) total += entry.count;
    }
    return total;
  };

  const attempt = async (
    requestId: string,
    templateId: string,
    maxNumber: number,
    count: number,
  ): Promise<Admission> => {
    for (let tries = 0; tries < MAX_ADMISSION_ATTEMPTS; tries++) {
      const current = await ledger.read();
      const entries = current?.entries ?? new Map<string, LedgerEntry>();
      // A write whose answer was lost, then retried, finds its own grant.
      if (entries.has(requestId)) return { granted: true };
      const now = Date.now();
      const available =
        maxNumber - state.machinesInUse(templateId) - pendingOf(entries, templateId, now);
      if (count > available) return { granted: false, available: Math.max(0, available) };
      const changes: Record<string, LedgerEntry | null> = {
        [requestId]: { templateId, count, until: now + GRANT_TTL_MS },
      };
      // Only expired grants go: a record this replica sees may not have reached the others yet.
      for (const [id, entry] of entries) if (entry.until <= now) changes[id] = null;
      if (await ledger.write(changes, current?.resourceVersion)) return { granted: true };
      await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_JITTER_MS));
    }
    return { granted: false, contended: true };
  };

  return {
    admit(requestId, templateId, maxNumber, count) {
      const result = queue.then(() => attempt(requestId, templateId, maxNumber, count));
      queue = result.catch(() => {});
      return result;
    },
    release: (requestId) => ledger.remove(requestId),
  };
}
