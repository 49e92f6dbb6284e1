// watchRequest: a request's status now and at every change, until it is final.

import type { RequestStatus } from "../provider/request-status.ts";
import type { FinalAnswers } from "./final-answers.ts";
import { type ProviderContext, requireSynced } from "./provider-context.ts";
import type { RequestLookup } from "./request-lookup.ts";

/** How long a WatchRequest gathers changes before it sends the request's status again. */
const WATCH_COALESCE_MS = 100;

export async function watchRequest(
  { state }: ProviderContext,
  lookup: RequestLookup,
  answers: FinalAnswers,
  requestId: string,
  send: (status: RequestStatus) => void,
  signal: AbortSignal,
): Promise<void> {
  requireSynced(state);
  let last = "";
  let final = false;
  let record = await lookup.find(requestId);
  lookup.noteAsked(record);
  const emit = async () => {
    const status = await answers.statusOf(record, requestId);
    const text = JSON.stringify(status);
    if (text !== last && !signal.aborted) send(status);
    last = text;
    final = status.status !== "running";
  };
  await emit();
  if (final || signal.aborted) return;
  await new Promise<void>((resolve, reject) => {
    // Changes are coalesced: a burst of pod events costs one status, not one per event.
    let pending: NodeJS.Timeout | undefined;
    let busy = false;
    let dirty = false;
    const finish = (error?: unknown) => {
      clearTimeout(pending);
      unsubscribe();
      signal.removeEventListener("abort", stop);
      if (error) reject(error);
      else resolve();
    };
    const stop = () => finish();
    const schedule = () => {
      pending = setTimeout(() => {
        pending = undefined;
        busy = true;
        record = state.record(requestId) ?? record;
        emit().then(
          () => {
            busy = false;
            if (final) finish();
            else if (dirty) {
              dirty = false;
              schedule();
            }
          },
          (error: unknown) => finish(error),
        );
      }, WATCH_COALESCE_MS);
    };
    const unsubscribe = state.onChange((ids) => {
      if (!ids.has(requestId)) return;
      if (busy) dirty = true;
      else if (!pending) schedule();
    });
    signal.addEventListener("abort", stop);
  });
}
