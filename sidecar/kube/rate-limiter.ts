// client-node has no client-side throttle, so every API call the sidecar makes goes through one of
// these: a token bucket (QPS with a burst, like client-go's) plus a cap on requests in flight, and a
// shared pause when the API server answers 429 with Retry-After, so the whole sidecar backs off
// instead of each caller discovering the throttle on its own.
//
// Calls wait in lanes, each first come first served, and the limiter always serves the first lane
// that has a call waiting: reads (the caches' lists and watch starts) before the handlers' record
// writes before the bulk of pod creates and deletes. A watch restart during a burst of thousands
// of creates then waits for one token, not for the burst; and bulk calls never hold the last
// in-flight slots, so a read need not wait for a slow create to answer either. Priority is not
// starvation: a lane passed over {@link MAX_PASSED_OVER} times in a row while it had a call
// waiting gets the next token, so reads that alone use up the rate (status checks while a cache
// catches up, at a low QPS) still leave creates a share of it.

import { toKubeApiError } from "./api-errors.ts";

/** Sustained requests per second. client-go's default of 5 is far too low for thousands of pods. */
export const DEFAULT_QPS = 50;
/** Requests allowed at once above the sustained rate, after a quiet period. */
export const DEFAULT_BURST = 100;
/** Requests awaiting an answer at any time; watches count only until their headers arrive. */
export const DEFAULT_MAX_IN_FLIGHT = 32;
/** Longest pause a Retry-After can impose, so a bogus header cannot freeze the sidecar. */
export const MAX_THROTTLE_PAUSE_MS = 60_000;
/** In-flight slots that bulk calls may not take, kept for reads and record writes. */
export const DEFAULT_RESERVED_IN_FLIGHT = 4;

/** Where a call waits, in the order lanes are served. */
export const LANES = ["read", "record", "bulk"] as const;
export type Lane = (typeof LANES)[number];

/** Calls an earlier lane may start while a later one waits, before the later one goes next. */
export const MAX_PASSED_OVER = 4;

/** Verbs that only read; their calls default to the "read" lane. */
const READ_VERBS = new Set(["get", "list", "watch"]);

/** What a call is, for metrics: the API verb and resource ("create", "pods"). */
export interface ApiCall {
  verb: string;
  resource: string;
  /** Default: "read" for get, list and watch, else "bulk". */
  lane?: Lane;
}

/** The lane a call waits in. */
export function laneOf(call: ApiCall | undefined): Lane {
  if (call?.lane) return call.lane;
  return call && READ_VERBS.has(call.verb) ? "read" : "bulk";
}

/** Told of every finished call: its duration and outcome ("ok", or the HTTP status or kind). */
export type CallObserver = (call: ApiCall, seconds: number, outcome: string) => void;

export interface RateLimiterOptions {
  /** Sustained requests per second; `Infinity` turns the bucket off. Default {@link DEFAULT_QPS}. */
  qps?: number;
  /** Bucket size. Default {@link DEFAULT_BURST}. */
  burst?: number;
  /** Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  maxInFlight?: number;
  /**
   * Default {@link DEFAULT_RESERVED_IN_FLIGHT}; never more than a quarter of `maxInFlight`, so
   * that a small cap is not given away to calls that rarely come.
   */
  reservedInFlight?: number;
  /** Called when a labelled call finishes (see `schedule`'s `call`). */
  observe?: CallObserver;
}

export interface RateLimiterStats {
  /** Calls queued, not yet started. */
  waiting: number;
  /** The same, per lane. */
  waitingByLane: Record<Lane, number>;
  inFlight: number;
  /** Calls started since creation. */
  started: number;
  /** 429 answers with Retry-After that paused the limiter. */
  throttled: number;
  /** Milliseconds left of the current pause; 0 when not paused. */
  pausedForMs: number;
}

export interface RateLimiter {
  /**
   * Runs `fn` once a token and an in-flight slot are free, in arrival order within its lane (see
   * {@link laneOf}) and ahead of every call in a later lane. Rejects with the signal's reason if
   * `signal` aborts while the call is still queued. `call` names it for the observer.
   */
  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal, call?: ApiCall): Promise<T>;
  /** Holds every queued call for `ms` (at most {@link MAX_THROTTLE_PAUSE_MS}). */
  pause(ms: number): void;
  readonly stats: RateLimiterStats;
}

interface Waiter {
  run: () => void;
  cancelled: boolean;
}

/** One lane's waiting calls: an array consumed from `head`, compacted now and then. */
interface Queue {
  items: Waiter[];
  head: number;
  waiting: number;
  /** Calls of earlier lanes started since this lane last started one while it had some waiting. */
  passedOver: number;
  /** The most calls this lane may have in flight. */
  inFlightCap: number;
}

/** Compact the queue array once this many started entries sit at its head. */
const QUEUE_COMPACT_AT = 1024;

export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const qps = options.qps ?? DEFAULT_QPS;
  const burst = options.burst ?? DEFAULT_BURST;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  if (!(qps > 0)) throw new RangeError(`qps must be positive, got ${qps}`);
  if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
  if (!(maxInFlight >= 1))
    throw new RangeError(`maxInFlight must be at least 1, got ${maxInFlight}`);
  const reserved = options.reservedInFlight ?? DEFAULT_RESERVED_IN_FLIGHT;
  if (!(reserved >= 0))
    throw new RangeError(`reservedInFlight must not be negative, got ${reserved}`);
  const bulkInFlight = maxInFlight - Math.min(reserved, Math.floor(maxInFlight / 4));

  const newQueue = (inFlightCap: number): Queue => ({
    items: [],
    head: 0,
    waiting: 0,
    passedOver: 0,
    inFlightCap,
  });
  const queues: Record<Lane, Queue> = {
    read: newQueue(maxInFlight),
    record: newQueue(maxInFlight),
    bulk: newQueue(bulkInFlight),
  };
  const lanesInOrder = LANES.map((lane) => queues[lane]);
  let waiting = 0;
  let inFlight = 0;
  let started = 0;
  let throttled = 0;
  let tokens = burst;
  let refilledAt = performance.now();
  let pausedUntil = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const unlimited = qps === Number.POSITIVE_INFINITY;
  const refill = (now: number): void => {
    tokens = unlimited ? burst : Math.min(burst, tokens + ((now - refilledAt) * qps) / 1000);
    refilledAt = now;
  };

  const wakeIn = (ms: number): void => {
    if (timer !== undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        pump();
      },
      Math.max(1, Math.ceil(ms)),
    );
  };

  /**
   * The queue to serve next, if the in-flight cap lets it start a call now: the first lane with
   * a call waiting, unless a later one has been passed over too often.
   */
  const nextQueue = (): Queue | undefined => {
    const first = lanesInOrder.find((queue) => queue.waiting > 0);
    const starved = lanesInOrder.find(
      (queue) => queue.waiting > 0 && queue.passedOver >= MAX_PASSED_OVER,
    );
    const canStart = (queue: Queue | undefined) => queue && inFlight < queue.inFlightCap;
    if (canStart(starved)) return starved;
    return canStart(first) ? first : undefined;
  };

  /** `served` starts a call: every later lane with calls waiting is passed over once more. */
  const countPassedOver = (served: Queue): void => {
    served.passedOver = 0;
    for (const queue of lanesInOrder.slice(lanesInOrder.indexOf(served) + 1)) {
      queue.passedOver = queue.waiting > 0 ? queue.passedOver + 1 : 0;
    }
  };

  const pump = (): void => {
    for (let queue = nextQueue(); queue !== undefined; queue = nextQueue()) {
      const now = performance.now();
      if (now < pausedUntil) {
        wakeIn(pausedUntil - now);
        return;
      }
      refill(now);
      if (tokens < 1) {
        wakeIn(((1 - tokens) * 1000) / qps);
        return;
      }
      const waiter = queue.items[queue.head++] as Waiter;
      if (queue.head === queue.items.length) {
        queue.items.length = 0;
        queue.head = 0;
      } else if (queue.head >= QUEUE_COMPACT_AT && queue.head * 2 >= queue.items.length) {
        queue.items.splice(0, queue.head);
        queue.head = 0;
      }
      if (waiter.cancelled) continue;
      tokens -= 1;
      waiting--;
      queue.waiting--;
      countPassedOver(queue);
      waiter.run();
    }
  };

  const pause = (ms: number): void => {
    if (!(ms > 0)) return;
    const until = performance.now() + Math.min(Math.max(0, ms), MAX_THROTTLE_PAUSE_MS);
    if (until <= pausedUntil) return;
    pausedUntil = until;
    // Resume at the sustained rate, not with a burst at a server that just said it is overloaded.
    tokens = 0;
    refilledAt = until;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (waiting > 0) wakeIn(until - performance.now());
  };

  const schedule = <T>(fn: () => Promise<T>, signal?: AbortSignal, call?: ApiCall): Promise<T> => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queue = queues[laneOf(call)];
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        waiter.cancelled = true;
        waiting--;
        queue.waiting--;
        if (waiting === 0 && timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        cancelled: false,
        run: () => {
          signal?.removeEventListener("abort", onAbort);
          inFlight++;
          started++;
          const startedAt = performance.now();
          const observe = (outcome: string) => {
            if (call) options.observe?.(call, (performance.now() - startedAt) / 1000, outcome);
          };
          Promise.resolve()
            .then(fn)
            .then(
              (value) => {
                observe("ok");
                resolve(value);
              },
              (error: unknown) => {
                const apiError = toKubeApiError(error);
                observe(apiError.status === undefined ? apiError.kind : String(apiError.status));
                if (apiError.status === 429 && apiError.retryAfterMs !== undefined) {
                  throttled++;
                  pause(apiError.retryAfterMs);
                }
                reject(error);
              },
            )
            .finally(() => {
              inFlight--;
              pump();
            });
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.items.push(waiter);
      queue.waiting++;
      waiting++;
      pump();
    });
  };

  return {
    schedule,
    pause,
    get stats() {
      return {
        waiting,
        waitingByLane: {
          read: queues.read.waiting,
          record: queues.record.waiting,
          bulk: queues.bulk.waiting,
        },
        inFlight,
        started,
        throttled,
        pausedForMs: Math.max(0, Math.ceil(pausedUntil - performance.now())),
      };
    },
  };
}
