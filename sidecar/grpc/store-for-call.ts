// Storing a new request's record for a gRPC call that may be cancelled meanwhile.

import { ProviderError } from "../provider/errors.ts";
import {
  type NewCreateRecord,
  type NewReturnRecord,
  recordConfigMap,
} from "../provider/records.ts";
import type { ProviderContext } from "./provider-context.ts";

/** Why the machines of a request whose call failed after its record was stored fail. */
const CANCELLED_REASON =
  "abandoned: the call was cancelled or ran past its deadline before its id was delivered";

function allFailed(count: number, reason: string): Map<number, string> {
  return new Map(Array.from({ length: count }, (_, index) => [index, reason]));
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const why = signal.reason instanceof Error ? signal.reason.message : "the call was cancelled";
  throw new ProviderError("cancelled", `${why}; nothing was kept`);
}

/**
 * Stores a new request's record for a call. A call cancelled or past its deadline by then
 * cannot deliver the id, so nothing of it is kept: a return's record is removed; a create's
 * machines all fail at once, so that pods the leader may have created meanwhile are deleted
 * (were that write lost too, a create request nobody asks about is abandoned later).
 */
export async function storeForCall(
  { settings, store }: ProviderContext,
  record: NewCreateRecord | NewReturnRecord,
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfCancelled(signal);
  await store.create(recordConfigMap(settings.instance, record));
  if (!signal?.aborted) return;
  const undo =
    record.kind === "create"
      ? store.fail(record.requestId, allFailed(record.machineCount, CANCELLED_REASON))
      : store.remove(record.requestId);
  await undo.catch(() => {});
  throwIfCancelled(signal);
}
