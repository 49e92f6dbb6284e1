// The waits of a loop that keeps failing: exponential with equal jitter to a cap (client-go's
// reflector: 800 ms to 30 s), starting from the first step again once failures have stopped for
// a healthy stretch.

import { equalJitterDelayMs } from "./backoff.ts";

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
