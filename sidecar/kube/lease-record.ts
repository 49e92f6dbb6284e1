// The Lease as a record: what a new, a renewed or taken, and a released one look like, and whether
// another replica still holds one. Pure functions; the calls that read and write it are elsewhere.

import type { V1Lease, V1MicroTime } from "@kubernetes/client-node";

/** What a replica writes on a Lease it holds. */
export interface LeaseTerms {
  identity: string;
  leaseDurationSeconds: number;
}

/** The lease's holder; "" when none. */
export function holderOf(lease: V1Lease | undefined): string {
  return lease?.spec?.holderIdentity ?? "";
}

export function newLease(
  name: string,
  namespace: string,
  terms: LeaseTerms,
  now: V1MicroTime,
): V1Lease {
  return {
    metadata: { name, namespace },
    spec: {
      holderIdentity: terms.identity,
      leaseDurationSeconds: terms.leaseDurationSeconds,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    },
  };
}

/**
 * Whether a replica other than `terms.identity` still holds `lease`: it has not stayed unchanged
 * for its whole duration since `changedAt`, when this replica last saw it change. Both times are
 * this replica's performance.now(); renewTime is never compared with local time.
 */
export function heldByAnother(
  lease: V1Lease,
  terms: LeaseTerms,
  changedAt: number,
  now: number,
): boolean {
  const holder = holderOf(lease);
  const validMs = (lease.spec?.leaseDurationSeconds ?? terms.leaseDurationSeconds) * 1000;
  return holder !== "" && holder !== terms.identity && now < changedAt + validMs;
}

/** `lease` renewed by its holder, or taken over by `terms.identity`: a new acquireTime, one more
 * transition. */
export function claimedLease(lease: V1Lease, terms: LeaseTerms, now: V1MicroTime): V1Lease {
  const spec = lease.spec ?? {};
  const takeover = holderOf(lease) !== terms.identity;
  const transitions = spec.leaseTransitions ?? 0;
  return {
    ...lease,
    spec: {
      ...spec,
      holderIdentity: terms.identity,
      leaseDurationSeconds: terms.leaseDurationSeconds,
      acquireTime: takeover ? now : spec.acquireTime,
      renewTime: now,
      leaseTransitions: takeover ? transitions + 1 : transitions,
    },
  };
}

/** `lease` with no holder and a 1 s duration, so that others take over at once. */
export function releasedLease(lease: V1Lease, now: V1MicroTime): V1Lease {
  return {
    ...lease,
    spec: {
      ...lease.spec,
      holderIdentity: undefined,
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
    },
  };
}
