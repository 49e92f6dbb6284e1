// Retrying one API call. Only `transient` failures are retried (429, 5xx, network trouble,
// timeouts); everything else is thrown at once, classified, because repeating a 403 quota denial
// or a 422 invalid spec only delays the answer HostFactory is waiting for.

import { setTimeout as sleep } from "node:timers/promises";
import { type KubeApiError, toKubeApiError } from "./api-errors.ts";
import { fullJitterDelayMs } from "./backoff.ts";

/** Tries in all, the first included. */
export const DEFAULT_RETRY_ATTEMPTS = 5;
/** No retry starts once this much time has passed since the first try. */
export const DEFAULT_RETRY_MAX_ELAPSED_MS = 30_000;
/** Ceiling of the first backoff; doubles each retry. */
export const DEFAULT_RETRY_BASE_MS = 200;
/** Largest ceiling a backoff grows to. */
export const DEFAULT_RETRY_CAP_MS = 5_000;

export interface RetryOptions {
  /** Default {@link DEFAULT_RETRY_ATTEMPTS}. */
  attempts?: number;
  /** Default {@link DEFAULT_RETRY_MAX_ELAPSED_MS}. */
  maxElapsedMs?: number;
  /** Default {@link DEFAULT_RETRY_BASE_MS}. */
  baseMs?: number;
  /** Default {@link DEFAULT_RETRY_CAP_MS}. */
  capMs?: number;
  /** Stops waiting between tries; the abort reason is thrown. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: KubeApiError, attempt: number, delayMs: number) => void;
  /** Randomness of the jitter, for tests. Default `Math.random`. */
  random?: () => number;
}

/**
 * Calls `fn` (with the 1-based attempt number) until it succeeds, a non-transient error occurs, or
 * the attempts or time run out. A server's Retry-After is honoured as the least wait. Always
 * throws a {@link KubeApiError} (except for the abort reason of `signal`).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_RETRY_ATTEMPTS;
  const maxElapsedMs = options.maxElapsedMs ?? DEFAULT_RETRY_MAX_ELAPSED_MS;
  const baseMs = options.baseMs ?? DEFAULT_RETRY_BASE_MS;
  const capMs = options.capMs ?? DEFAULT_RETRY_CAP_MS;
  const startedAt = performance.now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      options.signal?.throwIfAborted();
      const apiError = toKubeApiError(error);
      if (apiError.kind !== "transient" || attempt >= attempts) throw apiError;
      const delayMs = Math.max(
        apiError.retryAfterMs ?? 0,
        fullJitterDelayMs(attempt - 1, baseMs, capMs, options.random),
      );
      if (performance.now() - startedAt + delayMs > maxElapsedMs) throw apiError;
      options.onRetry?.(apiError, attempt, delayMs);
      // timers/promises rejects with its own AbortError; throw the caller's reason instead.
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() =>
        options.signal?.throwIfAborted(),
      );
    }
  }
}
