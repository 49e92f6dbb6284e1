// The loop that keeps a list-watch cache current: list, then watch and resume after every end;
// relist after a 410 (Expired/Gone); back off after errors and before each relist a 410 forces,
// so that a watch that answers 410 every time costs a few relists a minute, not hundreds.

import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, toKubeApiError } from "./api-errors.ts";
import { createFailureBackoff, type FailureBackoff, type FailureBackoffPolicy } from "./backoff.ts";
import { emptyListWatchStats, type ListWatchStats } from "./list-watch-stats.ts";
import type { ObjectStore, Projection } from "./list-watch-store.ts";
import type { Logger } from "./logger.ts";
import { type ListWatchSource, listAll } from "./paged-list.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { createWatch, type WatchStreamContext, watchOnce } from "./watch-stream.ts";

export interface ReflectorOptions<T> {
  kubeConfig: KubeConfig;
  source: ListWatchSource;
  labelSelector?: string;
  fieldSelector?: string;
  /** List pages and watch starts go through it when given. */
  limiter?: RateLimiter;
  pageSize: number;
  listTimeoutMs: number;
  watchdogMs: number;
  minWatchTimeoutSeconds: number;
  backoff: FailureBackoffPolicy;
  projection: Projection<T>;
  store: ObjectStore<T>;
  logger: Logger;
  name: string;
}

export interface Reflector {
  /** Resolves once the first list is in the store; rejects only if stopped before that. */
  start(): Promise<void>;
  /** Resolves when nothing is left running. */
  stop(): Promise<void>;
  readonly synced: boolean;
  readonly resourceVersion: string;
  readonly stats: ListWatchStats;
}

/** What the steps of the loop share. */
interface ReflectorContext<T> extends ReflectorOptions<T>, WatchStreamContext<T> {
  synced: boolean;
  onSynced: () => void;
  delays: FailureBackoff;
}

export function createReflector<T>(options: ReflectorOptions<T>): Reflector {
  const stopping = new AbortController();
  const listCall = { verb: "list", resource: options.source.watchPath.split("/").pop() ?? "" };
  const { limiter, name } = options;
  const context: ReflectorContext<T> = {
    ...options,
    watch: createWatch(options.kubeConfig, options.watchdogMs),
    stopping: stopping.signal,
    throttled: (send) => (limiter ? limiter.schedule(send, stopping.signal, listCall) : send()),
    cursor: { resourceVersion: "" },
    stats: emptyListWatchStats(),
    synced: false,
    onSynced: () => {},
    delays: createFailureBackoff(options.backoff),
  };
  let started: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let onStoppedEarly: (error: Error) => void = () => {};
  return {
    start() {
      if (started) return started;
      if (stopping.signal.aborted) {
        return Promise.reject(new Error(`cache ${name} was stopped and cannot start again`));
      }
      started = new Promise<void>((resolve, reject) => {
        context.onSynced = resolve;
        onStoppedEarly = reject;
      });
      // Marks the promise handled: a caller that stops without awaiting start() must not crash.
      started.catch(() => {});
      running = run(context);
      return started;
    },
    async stop() {
      stopping.abort();
      if (!context.synced) onStoppedEarly(new Error(`cache ${name} stopped before its first list`));
      await running;
    },
    get synced() {
      return context.synced;
    },
    get resourceVersion() {
      return context.cursor.resourceVersion;
    },
    stats: context.stats,
  };
}

async function run<T>(context: ReflectorContext<T>): Promise<void> {
  while (await listUntilListed(context)) await watchUntilExpired(context);
}

/** Lists until a list is in the store (true) or the reflector stops (false). */
async function listUntilListed<T>(context: ReflectorContext<T>): Promise<boolean> {
  let expiredBefore = false;
  while (!context.stopping.aborted) {
    try {
      await relist(context);
      return true;
    } catch (error) {
      if (context.stopping.aborted) return false;
      const apiError = toKubeApiError(error);
      // An expired continue token only means the list took too long: start it over at once,
      // but not twice in a row.
      if (apiError.kind !== "expired" || expiredBefore) await backOff(context, apiError, "list");
      expiredBefore = apiError.kind === "expired";
    }
  }
  return false;
}

/** Lists everything and swaps it in for what the store held; the first list syncs the cache. */
async function relist<T>(context: ReflectorContext<T>): Promise<void> {
  const { stats, cursor } = context;
  const startedAt = performance.now();
  const listing = await listAll(context, context.projection);
  cursor.resourceVersion = listing.resourceVersion;
  context.store.replace(listing.entries);
  stats.lastListMs = performance.now() - startedAt;
  stats.lists++;
  if (context.synced) stats.relists++;
  stats.lastError = undefined;
  const { resourceVersion } = cursor;
  context.logger.debug(
    { cache: context.name, size: context.store.size, resourceVersion },
    "cache listed",
  );
  if (!context.synced) {
    context.synced = true;
    context.onSynced();
  }
}

/** Watches, resuming after every end, until the history expires or the reflector stops. */
async function watchUntilExpired<T>(context: ReflectorContext<T>): Promise<void> {
  let resumed = false;
  do {
    if (resumed) context.stats.watchRestarts++;
    resumed = true;
    const outcome = await watchOnce(context);
    if (outcome.kind === "expired") {
      // One 410 is routine (history compacted while the watch was away); 410s back to back
      // mean relisting cannot catch up, and each relist is pages of reads: pace them.
      const expired = new KubeApiError("expired", "watch history expired");
      await backOff(context, expired, "watch history expired");
      return;
    }
    if (outcome.kind === "error") await backOff(context, outcome.error, "watch");
  } while (!context.stopping.aborted);
}

async function backOff<T>(
  context: ReflectorContext<T>,
  error: KubeApiError,
  operation: string,
): Promise<void> {
  const { stats, logger } = context;
  const delayMs = context.delays.next();
  stats.backoffs++;
  stats.backoffMs += delayMs;
  stats.lastBackoffMs = delayMs;
  stats.lastError = error.message;
  const fields = { cache: context.name, kind: error.kind, status: error.status, delayMs };
  if (error.kind === "expired") {
    const { resourceVersion } = context.cursor;
    logger.info({ ...fields, resourceVersion }, `${operation}; relisting`);
  } else logger.warn({ ...fields, err: error.message }, `cache ${operation} failed; retrying`);
  await sleep(delayMs, undefined, { signal: context.stopping }).catch(() => {});
}
