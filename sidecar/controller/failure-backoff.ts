// When a failed API call about one item (a pod to create, a pod to delete) may be tried again:
// client-go's default controller rate limiter, the larger of a per-item exponential delay and an
// overall token bucket shared by every retry. The per-item delay keeps one broken item from
// spending the API budget; the bucket keeps many broken items together from doing so. An item's
// delay resets when it succeeds. Unlike client-go's, the delay has jitter, so the machines of a
// request that failed together do not keep retrying in lockstep.

/** The first retry's delay. */
export const INITIAL_RETRY_DELAY_MS = 10;
/**
 * The longest delay between tries of one item. Far below client-go's 1000 s: a machine has only
 * its Pending timeout (600 s by default) to be created, and should be soon after a fault clears.
 */
export const DEFAULT_MAX_RETRY_DELAY_MS = 30_000;
/** A delay is shortened by up to this fraction, at random. */
export const RETRY_JITTER_FRACTION = 0.2;
/** Retries per second of all items together, sustained (client-go: 10). */
export const RETRY_QPS = 10;
/** Retries of all items together allowed at once (client-go: 100). */
export const RETRY_BURST = 100;

export interface FailureBackoffOptions {
  /** Default {@link INITIAL_RETRY_DELAY_MS}. */
  initialDelayMs?: number;
  /** Default {@link DEFAULT_MAX_RETRY_DELAY_MS}. */
  maxDelayMs?: number;
  /** Default {@link RETRY_QPS}. */
  qps?: number;
  /** Default {@link RETRY_BURST}. */
  burst?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
}

export interface FailureBackoff {
  /** Counts a failure of `key`; returns when it may be tried again (epoch milliseconds). */
  failed(key: string): number;
  /** `key` succeeded (or no longer needs trying): its next failure starts from the first delay. */
  forget(key: string): void;
  /** Whether `key` is waiting out a delay. */
  isWaiting(key: string): boolean;
  /** Failures of `key` since it last succeeded. */
  failures(key: string): number;
  /** The earliest time an item that is waiting may be tried again; undefined when none waits. */
  nextRetryAt(): number | undefined;
  /** Every item with failures counted. */
  keys(): IterableIterator<string>;
  readonly size: number;
  clear(): void;
}

interface ItemState {
  failures: number;
  retryAt: number;
}

export function createFailureBackoff(options: FailureBackoffOptions = {}): FailureBackoff {
  const initialDelayMs = options.initialDelayMs ?? INITIAL_RETRY_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  const qps = options.qps ?? RETRY_QPS;
  const burst = options.burst ?? RETRY_BURST;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  if (!(initialDelayMs > 0)) throw new RangeError(`initial delay must be positive`);
  if (!(maxDelayMs >= initialDelayMs)) {
    throw new RangeError(`max delay ${maxDelayMs} ms is below the initial ${initialDelayMs} ms`);
  }
  if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`retry qps and burst must be positive`);

  const items = new Map<string, ItemState>();
  // The bucket hands out reservations, as golang.org/x/time/rate's Reserve: tokens may go
  // negative, and a retry waits until its token would have been refilled.
  let tokens = burst;
  let refilledAt = now();

  const bucketDelayMs = (at: number): number => {
    tokens = Math.min(burst, tokens + ((at - refilledAt) * qps) / 1000);
    refilledAt = at;
    tokens -= 1;
    return tokens >= 0 ? 0 : (-tokens * 1000) / qps;
  };

  return {
    failed(key) {
      const at = now();
      const item = items.get(key) ?? { failures: 0, retryAt: at };
      const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(item.failures, 52));
      const itemDelay = ceiling * (1 - RETRY_JITTER_FRACTION * random());
      item.failures++;
      item.retryAt = at + Math.max(itemDelay, bucketDelayMs(at));
      items.set(key, item);
      return item.retryAt;
    },
    forget(key) {
      items.delete(key);
    },
    isWaiting(key) {
      const item = items.get(key);
      return item !== undefined && item.retryAt > now();
    },
    failures: (key) => items.get(key)?.failures ?? 0,
    nextRetryAt() {
      const at = now();
      let next: number | undefined;
      for (const { retryAt } of items.values()) {
        if (retryAt > at && (next === undefined || retryAt < next)) next = retryAt;
      }
      return next;
    },
    keys: () => items.keys(),
    get size() {
      return items.size;
    },
    clear() {
      items.clear();
    },
  };
}
