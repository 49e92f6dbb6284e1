// The backoff curves for everything that waits after a failure: exponential and capped, with
// jitter so that replicas and caches failing together do not come back together.

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(capMs, baseMs · 2^attempt)).
 * `random` is injectable for tests.
 */
export function fullJitterDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Delay before retry number `attempt` (0-based): uniform in [d/2, d) for d = min(capMs,
 * baseMs · 2^attempt). Half the delay is guaranteed, so a loop that keeps failing (a watch that
 * answers 410 every time) is held to a known pace, as client-go's reflector holds its relists.
 */
export function equalJitterDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The waits of a loop that keeps failing (client-go's reflector: 800 ms to 30 s): equal jitter,
 * starting from the first step again once failures have stopped for a healthy stretch.
 */
export interface FailureBackoffPolicy {
  /** Ceiling of the first wait; doubles per consecutive failure. */
  baseMs: number;
  capMs: number;
  /** After this long without a failure, the next one waits a first step again. */
  resetMs: number;
}

export interface FailureBackoff {
  /** Counts a failure now and returns how long to wait after it. */
  next(): number;
}

export function createFailureBackoff(policy: FailureBackoffPolicy): FailureBackoff {
  let failures = 0;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  return {
    next() {
      const now = performance.now();
      if (now - lastFailureAt > policy.resetMs) failures = 0;
      lastFailureAt = now;
      return equalJitterDelayMs(failures++, policy.baseMs, policy.capMs);
    },
  };
}
