// Leader election on a coordination.k8s.io Lease, with client-go's semantics: every replica
// serves, only the leader acts. A Lease held by someone else is taken only once it has not
// changed for its whole duration *as observed on this replica's clock* (renewTime is never
// compared with local time, so clock skew between nodes does not matter). Writes are optimistic
// (PUT with resourceVersion; a 409 means someone else wrote first: re-read next round).
//
// Safety rests on renewDeadline < leaseDuration: a leader that cannot renew stops leading before
// anyone else may consider the lease expired. Unlike client-go, an elector that loses the lease
// goes back to campaigning instead of ending, because leadership only gates the reconciler.

import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { createLeadership, createLeaseObserver, type Leadership } from "./leader-state.ts";
import { createLeaseClient } from "./lease-client.ts";
import { acquireOrRenew, type LeaseRoundContext, release } from "./lease-round.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** How long a lease stays valid after its last observed change. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/** How long a leader keeps trying to renew before it gives leadership up. */
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
/** Time between tries to acquire or renew. */
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** Campaigners wait retryPeriod · (1 + up to this factor) so they do not knock in step. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  leaseName: string;
  /** Unique per replica, e.g. the pod name. */
  identity: string;
  /**
   * Lease calls go through it when given. Give the elector a limiter of its own (or none): in a
   * queue shared with hundreds of pod creations, renewals wait their turn and miss the deadline.
   */
  limiter?: RateLimiter;
  /** Default {@link DEFAULT_LEASE_DURATION_MS}; whole seconds on the Lease (rounded up). */
  leaseDurationMs?: number;
  /** Default {@link DEFAULT_RENEW_DEADLINE_MS}. */
  renewDeadlineMs?: number;
  /** Default {@link DEFAULT_RETRY_PERIOD_MS}. */
  retryPeriodMs?: number;
  logger?: Logger;
  /** Called on becoming leader; `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void;
  /** Called when leadership ends: renewal failed, someone else took over, or stop(). */
  onStoppedLeading?: () => void;
  /** Called whenever a different holder (or "" for none) is observed. */
  onNewLeader?: (identity: string) => void;
}

export interface LeaderElector {
  /** Starts campaigning. Idempotent. */
  start(): void;
  /** Stops; a leader stops leading and then releases the lease so another replica takes over
   * at once. Resolves when done. */
  stop(): Promise<void>;
  readonly isLeader: boolean;
  /** The holder last observed on the lease; "" when none. */
  readonly leader: string;
}

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const timings = checkedTimings(options);
  const { namespace, leaseName: name, identity } = options;
  const logger = options.logger ?? silentLogger;
  const fields = { lease: `${namespace}/${name}`, identity };
  const stopping = new AbortController();
  const election: Election = {
    namespace,
    name,
    terms: { identity, leaseDurationSeconds: Math.ceil(timings.leaseDurationMs / 1000) },
    client: createLeaseClient(options.kubeConfig, namespace, name, options.limiter),
    observer: createLeaseObserver(options.onNewLeader, logger, fields),
    leadership: createLeadership(options, logger, fields),
    ...timings,
    stopping: stopping.signal,
    logger,
    fields,
  };
  let running: Promise<void> | undefined;
  return {
    start() {
      if (running || stopping.signal.aborted) return;
      running = campaign(election);
    },
    async stop() {
      stopping.abort();
      await running;
    },
    get isLeader() {
      return election.leadership.isLeader;
    },
    get leader() {
      return election.observer.leader;
    },
  };
}

interface Timings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** What the election's steps share. */
interface Election extends LeaseRoundContext, Timings {
  leadership: Leadership;
  stopping: AbortSignal;
}

/** The timings with their defaults, refused when they would let two replicas lead at once. */
function checkedTimings(options: LeaderElectorOptions): Timings {
  const leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
  const retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  if (!options.identity) throw new RangeError("leader election needs a non-empty identity");
  if (!(leaseDurationMs >= 1000)) {
    throw new RangeError(`leaseDurationMs must be at least 1000, got ${leaseDurationMs}`);
  }
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new RangeError(
      `leaseDurationMs (${leaseDurationMs}) must exceed renewDeadlineMs (${renewDeadlineMs})`,
    );
  }
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new RangeError(
      `renewDeadlineMs (${renewDeadlineMs}) must exceed ${JITTER_FACTOR} × retryPeriodMs (${retryPeriodMs})`,
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** Campaigns until stopped: acquires the lease, leads while renewing it, campaigns again. */
async function campaign(election: Election): Promise<void> {
  const { stopping, leadership, renewDeadlineMs, retryPeriodMs } = election;
  while (!stopping.aborted) {
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(renewDeadlineMs)]);
    if (!(await acquireOrRenew(election, signal))) {
      await wait(election, retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
      continue;
    }
    if (stopping.aborted) break;
    leadership.start();
    if (!(await holdLease(election))) leadership.stop("could not renew the lease in time");
  }
  if (leadership.isLeader) leadership.stop("stopped");
  await release(election, renewDeadlineMs);
}

/** Renews every retry period; false once a renewal misses its deadline, true when stopped. */
async function holdLease(election: Election): Promise<boolean> {
  let renewed = true;
  while (renewed && !election.stopping.aborted) {
    await wait(election, election.retryPeriodMs);
    renewed = await renewBefore(election, performance.now() + election.renewDeadlineMs);
  }
  return renewed;
}

/** Retries renewal until it succeeds, the deadline passes, or someone else holds the lease. */
async function renewBefore(election: Election, deadline: number): Promise<boolean> {
  const { stopping, observer, terms } = election;
  while (!stopping.aborted) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(Math.ceil(remaining))]);
    if (await acquireOrRenew(election, signal)) return true;
    if (observer.leader !== "" && observer.leader !== terms.identity) return false;
    // The attempt may have used up the time left: then the loop ends without a negative timer.
    const untilDeadline = deadline - performance.now();
    await wait(election, Math.max(0, Math.min(election.retryPeriodMs, untilDeadline)));
  }
  return true;
}

function wait(election: Election, ms: number): Promise<void> {
  return sleep(ms, undefined, { signal: election.stopping }).catch(() => {});
}
