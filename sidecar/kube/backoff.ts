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
