// The record of a request HostFactory asks about, and the note that it asked.

import type { RequestRecord } from "../provider/model.ts";
import { requestKindOf } from "../provider/naming.ts";
import type { ProviderContext } from "./provider-context.ts";

/** How long an id the API server does not have is answered unknown without asking again. */
const ABSENT_TTL_MS = 60_000;
/** Bound on the ids remembered as unknown. */
const MAX_ABSENT_IDS = 10_000;

export interface RequestLookup {
  /**
   * From the cache, or (just written by another replica, not yet watched) from the API. A record
   * is written before its id is handed out, so an id the API server lacks stays unknown: that
   * answer is remembered for a while, so polling an unknown id costs no API call each time.
   */
  find(requestId: string, mayRead?: boolean): Promise<RequestRecord | undefined>;
  /** The first question about a create request is written down: it is never abandoned. */
  noteAsked(record: RequestRecord | undefined): void;
}

export function createRequestLookup({ state, store }: ProviderContext): RequestLookup {
  /** Ids the API server said it does not have, until when that answer is trusted. */
  const absent = new Map<string, number>();
  /** Requests this replica has noted HostFactory asked about, until the cache shows it. */
  const noted = new Set<string>();
  state.onChange((ids) => {
    for (const id of ids) {
      if (!noted.has(id)) continue;
      const cached = state.record(id);
      if (cached?.kind !== "create" || !cached.unasked) noted.delete(id);
    }
  });

  return {
    async find(requestId, mayRead = true) {
      if (!requestKindOf(requestId)) return undefined;
      const cached = state.record(requestId);
      const now = Date.now();
      if (cached || !mayRead || (absent.get(requestId) ?? 0) > now) return cached;
      const read = await store.read(requestId);
      if (!read) {
        if (absent.size >= MAX_ABSENT_IDS) {
          for (const [id, until] of absent) if (until <= now) absent.delete(id);
        }
        if (absent.size < MAX_ABSENT_IDS) absent.set(requestId, now + ABSENT_TTL_MS);
      }
      return read;
    },
    noteAsked(record) {
      if (record?.kind !== "create" || !record.unasked || noted.has(record.requestId)) return;
      noted.add(record.requestId);
      store.markAsked(record.requestId).catch(() => noted.delete(record.requestId));
    },
  };
}
