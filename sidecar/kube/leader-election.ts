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
import {
  type ConfigurationOptions,
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  V1MicroTime,
} from "@kubernetes/client-node";
import { abortOptions } from "./abort-options.ts";
import { toKubeApiError } from "./api-errors.ts";
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
  const { namespace, leaseName: name, identity } = options;
  const leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
  const retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  const logger = options.logger ?? silentLogger;
  if (!identity) throw new RangeError("leader election needs a non-empty identity");
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
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const log = { lease: `${namespace}/${name}`, identity };

  let isLeader = false;
  let leader = "";
  /** The lease as last read or written. */
  let lease: V1Lease | undefined;
  let observedVersion: string | undefined;
  /** performance.now() when the lease was last seen to change. */
  let observedAt = 0;
  let leading: AbortController | undefined;
  const stopping = new AbortController();
  let running: Promise<void> | undefined;

  const call = <R>(
    verb: string,
    fn: (options: ConfigurationOptions) => Promise<R>,
    signal: AbortSignal,
  ): Promise<R> => {
    const send = () => fn(abortOptions(signal));
    const label = { verb, resource: "leases" };
    return options.limiter ? options.limiter.schedule(send, signal, label) : send();
  };

  const wait = (ms: number): Promise<void> =>
    sleep(ms, undefined, { signal: stopping.signal }).catch(() => {});

  const observe = (current: V1Lease): void => {
    lease = current;
    const version = current.metadata?.resourceVersion;
    if (version !== observedVersion) {
      observedVersion = version;
      observedAt = performance.now();
    }
    const holder = current.spec?.holderIdentity ?? "";
    if (holder !== leader) {
      leader = holder;
      logger.info({ ...log, leader: holder }, "lease holder changed");
      try {
        options.onNewLeader?.(holder);
      } catch (error) {
        logger.error({ ...log, err: error }, "onNewLeader threw");
      }
    }
  };

  /** One round: read the lease, then create, take or renew it if we may. */
  const tryAcquireOrRenew = async (signal: AbortSignal): Promise<boolean> => {
    const now = new V1MicroTime(Date.now());
    let current: V1Lease;
    try {
      current = await call("get", (o) => api.readNamespacedLease({ name, namespace }, o), signal);
    } catch (error) {
      const apiError = toKubeApiError(error);
      if (apiError.kind !== "not-found") {
        logger.warn({ ...log, err: apiError.message }, "cannot read the lease");
        return false;
      }
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      try {
        observe(
          await call("create", (o) => api.createNamespacedLease({ namespace, body }, o), signal),
        );
        return true;
      } catch (createError) {
        const apiError = toKubeApiError(createError);
        // already-exists: another replica created it first; the next round reads it.
        if (apiError.kind !== "already-exists") {
          logger.warn({ ...log, err: apiError.message }, "cannot create the lease");
        }
        return false;
      }
    }
    observe(current);
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const validMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== "" && holder !== identity && performance.now() < observedAt + validMs) {
      return false;
    }
    const takeover = holder !== identity;
    const transitions = spec.leaseTransitions ?? 0;
    const body: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: takeover ? now : spec.acquireTime,
        renewTime: now,
        leaseTransitions: takeover ? transitions + 1 : transitions,
      },
    };
    try {
      observe(
        await call(
          "update",
          (o) => api.replaceNamespacedLease({ name, namespace, body }, o),
          signal,
        ),
      );
      if (takeover) logger.info({ ...log, previous: holder }, "lease acquired");
      return true;
    } catch (error) {
      const apiError = toKubeApiError(error);
      // conflict: someone else wrote the lease since we read it; the next round reads it again.
      if (apiError.kind !== "conflict") {
        logger.warn({ ...log, err: apiError.message }, "cannot update the lease");
      }
      return false;
    }
  };

  /** Retries renewal until it succeeds, the deadline passes, or someone else holds the lease. */
  const renewBefore = async (deadline: number): Promise<boolean> => {
    while (!stopping.signal.aborted) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) return false;
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(Math.ceil(remaining))]);
      if (await tryAcquireOrRenew(signal)) return true;
      if (leader !== "" && leader !== identity) return false;
      // The attempt may have used up the time left: then the loop ends without a negative timer.
      await wait(Math.max(0, Math.min(retryPeriodMs, deadline - performance.now())));
    }
    return true;
  };

  const startLeading = (): void => {
    isLeader = true;
    leading = new AbortController();
    logger.info(log, "started leading");
    try {
      options.onStartedLeading?.(leading.signal);
    } catch (error) {
      logger.error({ ...log, err: error }, "onStartedLeading threw");
    }
  };

  const stopLeading = (why: string): void => {
    isLeader = false;
    leading?.abort(new Error(`leadership lost: ${why}`));
    logger.info({ ...log, why }, "stopped leading");
    try {
      options.onStoppedLeading?.();
    } catch (error) {
      logger.error({ ...log, err: error }, "onStoppedLeading threw");
    }
  };

  /** Clears the holder and shortens the lease to 1 s so that others take over at once. */
  const release = async (): Promise<void> => {
    const spec = lease?.spec;
    if (!lease || spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime(Date.now());
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      },
    };
    try {
      const signal = AbortSignal.timeout(renewDeadlineMs);
      observe(
        await call(
          "update",
          (o) => api.replaceNamespacedLease({ name, namespace, body }, o),
          signal,
        ),
      );
      logger.info(log, "lease released");
    } catch (error) {
      logger.warn({ ...log, err: toKubeApiError(error).message }, "cannot release the lease");
    }
  };

  const run = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(renewDeadlineMs)]);
      if (!(await tryAcquireOrRenew(signal))) {
        await wait(retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
        continue;
      }
      if (stopping.signal.aborted) break;
      startLeading();
      let renewed = true;
      while (renewed && !stopping.signal.aborted) {
        await wait(retryPeriodMs);
        renewed = await renewBefore(performance.now() + renewDeadlineMs);
      }
      if (!renewed) stopLeading("could not renew the lease in time");
    }
    if (isLeader) stopLeading("stopped");
    await release();
  };

  return {
    start() {
      if (running || stopping.signal.aborted) return;
      running = run();
    },
    async stop() {
      stopping.abort();
      await running;
    },
    get isLeader() {
      return isLeader;
    },
    get leader() {
      return leader;
    },
  };
}
