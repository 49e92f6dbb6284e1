// Polling until a condition holds: the one way the tests wait for something they cannot be told
// about (a pod's phase, a sidecar's answer, a process gone).

/** Long enough for a loaded machine, where a sidecar child alone can take seconds to start. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** The shortest pause between probes: a probe of in-memory state costs nothing. */
const MIN_INTERVAL_MS = 10;

export interface WaitOptions {
  /**
   * Fails the wait after this long (default 60 s). It only stops a hung test: a test that needs a
   * bound on how long something takes asserts it itself.
   */
  timeoutMs?: number;
  /**
   * The pause between probes. Default: as long as the last probe took, at least 10 ms, so that a
   * probe that runs a script or a call never keeps the machine busy more than half the time.
   */
  intervalMs?: number;
  /**
   * Whether a probe that throws is asked again, its error reported if the wait times out
   * (default false: the error fails the wait at once, which lets a probe assert).
   */
  retryErrors?: boolean;
}

/**
 * Polls `probe` until it returns a value other than undefined or false, and returns that value.
 * `what` names what is awaited, for the timeout's message ("the pod to run").
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    const started = performance.now();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      if (!options.retryErrors) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const name = typeof what === "string" ? what : what();
      const cause =
        lastError === undefined
          ? `last: ${String(last)}`
          : `last error: ${(lastError as Error).message ?? String(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; ${cause}`);
    }
    const pause =
      options.intervalMs ?? Math.max(MIN_INTERVAL_MS, Math.round(performance.now() - started));
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
