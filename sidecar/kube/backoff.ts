// One backoff curve for everything that waits after a failure (API retries, watch restarts):
// exponential, capped, with full jitter so that replicas and caches failing together do not
// come back together.

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
