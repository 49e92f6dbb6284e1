// One round of the election: read the Lease, then create, take or renew it if this replica may;
// and, on the way out, the release. Writes are optimistic: when another replica wrote first (409,
// or already-exists on create) the round fails quietly and the next one reads again.

import { type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { toKubeApiError } from "./api-errors.ts";
import type { LeaseObserver } from "./leader-state.ts";
import type { LeaseClient } from "./lease-client.ts";
import {
  claimedLease,
  heldByAnother,
  holderOf,
  type LeaseTerms,
  newLease,
  releasedLease,
} from "./lease-record.ts";
import type { Logger } from "./logger.ts";

export interface LeaseRoundContext {
  namespace: string;
  name: string;
  terms: LeaseTerms;
  client: LeaseClient;
  observer: LeaseObserver;
  logger: Logger;
  /** Fields that name the lease and the replica in every log line. */
  fields: object;
}

/** Whether this replica holds the lease after the round. */
export async function acquireOrRenew(
  context: LeaseRoundContext,
  signal: AbortSignal,
): Promise<boolean> {
  const { observer, logger, fields } = context;
  const now = new V1MicroTime(Date.now());
  let current: V1Lease;
  try {
    current = await context.client.read(signal);
  } catch (error) {
    const apiError = toKubeApiError(error);
    if (apiError.kind === "not-found") return create(context, now, signal);
    logger.warn({ ...fields, err: apiError.message }, "cannot read the lease");
    return false;
  }
  observer.observe(current);
  if (heldByAnother(current, context.terms, observer.changedAt, performance.now())) return false;
  return claim(context, current, now, signal);
}

async function create(
  context: LeaseRoundContext,
  now: V1MicroTime,
  signal: AbortSignal,
): Promise<boolean> {
  const { namespace, name, terms, logger, fields } = context;
  try {
    context.observer.observe(
      await context.client.create(newLease(name, namespace, terms, now), signal),
    );
    return true;
  } catch (error) {
    const apiError = toKubeApiError(error);
    // already-exists: another replica created it first; the next round reads it.
    if (apiError.kind !== "already-exists") {
      logger.warn({ ...fields, err: apiError.message }, "cannot create the lease");
    }
    return false;
  }
}

/** Renews the lease this replica holds, or takes over one that nobody holds any more. */
async function claim(
  context: LeaseRoundContext,
  current: V1Lease,
  now: V1MicroTime,
  signal: AbortSignal,
): Promise<boolean> {
  const { terms, logger, fields } = context;
  const previous = holderOf(current);
  try {
    context.observer.observe(
      await context.client.replace(claimedLease(current, terms, now), signal),
    );
    if (previous !== terms.identity) logger.info({ ...fields, previous }, "lease acquired");
    return true;
  } catch (error) {
    const apiError = toKubeApiError(error);
    // conflict: someone else wrote the lease since we read it; the next round reads it again.
    if (apiError.kind !== "conflict") {
      logger.warn({ ...fields, err: apiError.message }, "cannot update the lease");
    }
    return false;
  }
}

/** Clears the holder and shortens the lease to 1 s so that others take over at once. */
export async function release(context: LeaseRoundContext, timeoutMs: number): Promise<void> {
  const { observer, logger, fields } = context;
  const { lease } = observer;
  if (lease === undefined || holderOf(lease) !== context.terms.identity) return;
  const body = releasedLease(lease, new V1MicroTime(Date.now()));
  try {
    observer.observe(await context.client.replace(body, AbortSignal.timeout(timeoutMs)));
    logger.info(fields, "lease released");
  } catch (error) {
    logger.warn({ ...fields, err: toKubeApiError(error).message }, "cannot release the lease");
  }
}
