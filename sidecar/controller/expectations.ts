// What the reconciler has asked the API server to do and not yet seen in its cache, by pod name:
// a create until the pod appears, a delete until the pod shows a deletion timestamp or is gone.
// While an expectation holds the reconciler leaves that pod alone, so a watch that lags behind
// the calls never causes a second create or delete. As in client-go's ControllerExpectations, an
// expectation lapses after a while, so a watch event that never comes cannot block a pod forever.

/** How long an unmet expectation holds (client-go's ExpectationsTimeout). */
export const EXPECTATION_TTL_MS = 5 * 60_000;

export interface ExpectationsOptions {
  /** Default {@link EXPECTATION_TTL_MS}. */
  ttlMs?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

export interface Expectations {
  /** A call about `key` was made (or is queued): expect to see its effect. */
  expect(key: string): void;
  /** The cache shows the effect, or the call failed: stop expecting. */
  satisfy(key: string): void;
  /** Whether an expectation about `key` holds; one past its TTL is dropped and does not. */
  has(key: string): boolean;
  /** Every key expected, lapsed or not (to check each against the cache). */
  keys(): IterableIterator<string>;
  readonly size: number;
  clear(): void;
}

export function createExpectations(options: ExpectationsOptions = {}): Expectations {
  const ttlMs = options.ttlMs ?? EXPECTATION_TTL_MS;
  const now = options.now ?? Date.now;
  if (!(ttlMs > 0)) throw new RangeError(`expectation TTL must be positive, got ${ttlMs}`);
  /** Key → when the expectation lapses. */
  const until = new Map<string, number>();
  return {
    expect(key) {
      until.set(key, now() + ttlMs);
    },
    satisfy(key) {
      until.delete(key);
    },
    has(key) {
      const lapses = until.get(key);
      if (lapses === undefined) return false;
      if (lapses > now()) return true;
      until.delete(key);
      return false;
    },
    keys: () => until.keys(),
    get size() {
      return until.size;
    },
    clear() {
      until.clear();
    },
  };
}
