import type { EventLog } from "./event-log.ts";
import type { Random } from "./random.ts";
import {
  priorityAndFairnessRejection,
  type StatusError,
  statusForCode,
  tooManyRequests,
} from "./status-error.ts";

/** The Retry-After of a rate-limited request, as API priority and fairness sends it. */
const RATE_LIMIT_RETRY_AFTER_SECONDS = 1;

/**
 * Fault injection: what a flaky API server does to its clients. Tests drive it through
 * `sim.faults`; the standalone simulator through the admin endpoint (`/simulator/faults`).
 */

/** Requests that a rule applies to; an omitted field matches everything. */
export interface RequestMatch {
  /** API verbs: get, list, watch, create, update, patch, delete, deletecollection. */
  verbs?: string[];
  /** Resources, with subresource where there is one: "pods", "pods/status", "leases". */
  resources?: string[];
}

export interface ErrorRule extends RequestMatch {
  /** HTTP status to answer with: 500, 503, 429 (with Retry-After), or any other. */
  code: number;
  /** Probability that a matching request fails; default 1. */
  rate?: number;
  /** Fail only this many matching requests, then retire the rule; default unlimited. */
  count?: number;
  /** Retry-After seconds for 429 (and 503); default 1. */
  retryAfterSeconds?: number;
  /** Status message; default says it was injected. */
  message?: string;
}

export interface LatencyRule extends RequestMatch {
  /** Added before the request is served. */
  delayMs: number;
  /** Uniform random extra delay in [0, jitterMs); default 0. */
  jitterMs?: number;
}

export interface RateLimit {
  /** Requests admitted per second once the burst is spent. */
  qps: number;
  /** Requests admitted at once from a full bucket; default qps. */
  burst?: number;
}

/** Every fault in force, as JSON (what GET /simulator/faults answers and PUT accepts). */
export interface FaultConfig {
  errors: ErrorRule[];
  latency: LatencyRule[];
  rateLimit: RateLimit | null;
  /** True while watches are stalled. */
  watchesStalled: boolean;
}

export interface RestartOptions {
  /** How long the port refuses connections; default 0. */
  downtimeMs?: number;
  /** Keep the watch history (default false: a restarted API server has a fresh watch cache). */
  keepHistory?: boolean;
}

/** What the faults act on; provided by the simulator. */
export interface FaultTargets {
  /** Ends every watch (of one resource, or all): cleanly, or by resetting the connection. */
  endWatches(how: "close" | "reset", resource?: string): number;
  setWatchesStalled(stalled: boolean): void;
  compactHistory(): void;
  restart(options: RestartOptions): Promise<void>;
}

export interface FaultDecision {
  delayMs: number;
  error?: StatusError;
}

export interface Faults {
  /** Adds an error rule; returns a function that removes it. */
  injectErrors(rule: ErrorRule): () => void;
  /** Adds a latency rule; returns a function that removes it. */
  addLatency(rule: LatencyRule): () => void;
  /** Answers 429 with Retry-After beyond `limit` requests per second; null lifts it. */
  setRateLimit(limit: RateLimit | null): void;
  /** Closes every open watch (or those of one resource) cleanly; returns how many. */
  dropWatches(resource?: string): number;
  /** Resets the connection of every open watch (or those of one resource); returns how many. */
  resetWatches(resource?: string): number;
  /** Watches stay open but receive nothing (no events, no bookmarks) until resumed. */
  stallWatches(durationMs?: number): void;
  resumeWatches(): void;
  /** Forgets the watch history: the next resume from an older resourceVersion gets 410. */
  compactHistory(): void;
  /** Drops every connection (watches included), optionally refuses connections for a while. */
  restart(options?: RestartOptions): Promise<void>;
  /** Lifts every fault (errors, latency, rate limit, stall). */
  clear(): void;
  config(): FaultConfig;
  /** Replaces the faults in force with `config` (fields left out are cleared). */
  configure(config: Partial<FaultConfig>): void;
  /** The HTTP layer's question for each request: how long to wait, and whether to fail. */
  decide(verb: string, resource: string): FaultDecision;
}

export interface FaultsOptions {
  random: Random;
  log: EventLog;
  targets: FaultTargets;
}

function matches(rule: RequestMatch, verb: string, resource: string): boolean {
  return (
    (!rule.verbs || rule.verbs.includes(verb)) &&
    (!rule.resources ||
      rule.resources.includes(resource) ||
      rule.resources.includes(resource.split("/")[0] as string))
  );
}

function checkRate(rate: number | undefined) {
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`fault rate must be between 0 and 1, got ${rate}`);
  }
}

export function createFaults({ random, log, targets }: FaultsOptions): Faults {
  let errors: ErrorRule[] = [];
  let latency: LatencyRule[] = [];
  let rateLimit: RateLimit | null = null;
  let tokens = 0;
  let refilledAt = 0;
  let stalled = false;
  let stallTimer: NodeJS.Timeout | undefined;

  const removeFrom =
    <T>(list: () => T[], set: (next: T[]) => void, item: T) =>
    () =>
      set(list().filter((candidate) => candidate !== item));

  const resume = () => {
    clearTimeout(stallTimer);
    stallTimer = undefined;
    if (stalled) log.record("fault", "watches resumed");
    stalled = false;
    targets.setWatchesStalled(false);
  };

  const faults: Faults = {
    injectErrors(rule) {
      checkRate(rule.rate);
      const copy = { ...rule };
      errors = [...errors, copy];
      log.record("fault", `inject ${rule.code} errors: ${JSON.stringify(rule)}`);
      return removeFrom(
        () => errors,
        (next) => {
          errors = next;
        },
        copy,
      );
    },
    addLatency(rule) {
      const copy = { ...rule };
      latency = [...latency, copy];
      log.record("fault", `add latency: ${JSON.stringify(rule)}`);
      return removeFrom(
        () => latency,
        (next) => {
          latency = next;
        },
        copy,
      );
    },
    setRateLimit(limit) {
      if (limit && !(limit.qps > 0))
        throw new RangeError(`rate limit qps must be positive, got ${limit.qps}`);
      rateLimit = limit ? { ...limit } : null;
      tokens = limit ? (limit.burst ?? limit.qps) : 0;
      refilledAt = performance.now();
      log.record("fault", limit ? `rate limit ${JSON.stringify(limit)}` : "rate limit lifted");
    },
    dropWatches(resource) {
      const count = targets.endWatches("close", resource);
      log.record("fault", `dropped ${count} watches`);
      return count;
    },
    resetWatches(resource) {
      const count = targets.endWatches("reset", resource);
      log.record("fault", `reset ${count} watches`);
      return count;
    },
    stallWatches(durationMs) {
      clearTimeout(stallTimer);
      stalled = true;
      targets.setWatchesStalled(true);
      log.record(
        "fault",
        `watches stalled${durationMs === undefined ? "" : ` for ${durationMs} ms`}`,
      );
      if (durationMs !== undefined) stallTimer = setTimeout(resume, durationMs).unref();
    },
    resumeWatches: resume,
    compactHistory() {
      targets.compactHistory();
      log.record("fault", "watch history compacted");
    },
    async restart(options = {}) {
      log.record("fault", `restart (downtime ${options.downtimeMs ?? 0} ms)`);
      await targets.restart(options);
    },
    clear() {
      errors = [];
      latency = [];
      rateLimit = null;
      resume();
    },
    config() {
      return {
        errors: errors.map((rule) => ({ ...rule })),
        latency: latency.map((rule) => ({ ...rule })),
        rateLimit: rateLimit ? { ...rateLimit } : null,
        watchesStalled: stalled,
      };
    },
    configure(config) {
      for (const rule of config.errors ?? []) checkRate(rule.rate);
      errors = (config.errors ?? []).map((rule) => ({ ...rule }));
      latency = (config.latency ?? []).map((rule) => ({ ...rule }));
      faults.setRateLimit(config.rateLimit ?? null);
      if (config.watchesStalled) faults.stallWatches();
      else resume();
    },
    decide(verb, resource) {
      let delayMs = 0;
      for (const rule of latency) {
        if (matches(rule, verb, resource)) {
          delayMs += rule.delayMs + (rule.jitterMs ? random.next() * rule.jitterMs : 0);
        }
      }
      if (rateLimit) {
        const now = performance.now();
        const burst = rateLimit.burst ?? rateLimit.qps;
        tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * rateLimit.qps);
        refilledAt = now;
        if (tokens < 1) {
          return {
            delayMs,
            error: priorityAndFairnessRejection(RATE_LIMIT_RETRY_AFTER_SECONDS),
          };
        }
        tokens -= 1;
      }
      for (const rule of errors) {
        if (!matches(rule, verb, resource)) continue;
        if (rule.rate !== undefined && random.next() >= rule.rate) continue;
        if (rule.count !== undefined) {
          rule.count -= 1;
          if (rule.count <= 0) errors = errors.filter((candidate) => candidate !== rule);
        }
        const message = rule.message ?? `injected fault: ${verb} ${resource} answers ${rule.code}`;
        const error =
          rule.code === 429
            ? tooManyRequests(message, rule.retryAfterSeconds ?? 1)
            : statusForCode(rule.code, message);
        if (rule.code === 503) error.headers["Retry-After"] = String(rule.retryAfterSeconds ?? 1);
        return { delayMs, error };
      }
      return { delayMs };
    },
  };
  return faults;
}
