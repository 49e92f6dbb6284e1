// A list-watch cache of one kind of object, kept as projections (never whole objects) so that ten
// thousand pods and a thousand events a second cost little. It replaces client-node's informer,
// which gives up for good on any error other than 410 and never asks for bookmarks:
//
// - lists in pages, then watches from the list's resourceVersion with bookmarks and a randomised
//   server-side timeout, resuming from the last resourceVersion seen after every end;
// - on 410 (Expired/Gone, as an HTTP status or an ERROR event) relists and diffs the relist
//   against the cache, so subscribers see DELETED for what vanished while the watch was away;
// - backs off after errors and before each relist a 410 forces, exponentially with jitter to a
//   cap (client-go's reflector: 800 ms to 30 s), and forgets past failures after a healthy
//   stretch, so a watch that answers 410 every time costs a few relists a minute, not hundreds;
// - aborts and resumes a watch that has gone silent (not even a bookmark) for too long;
// - keys what it holds by the object's own identity (namespace/name), the projection being only
//   the value: an object edited into a shape that no longer projects is removed, never left stale.
//
// The parts: list-watch-store.ts holds the objects, paged-list.ts lists them, watch-stream.ts runs
// one watch, reflector.ts loops over the two with backoff.ts pacing it.

import { isDeepStrictEqual } from "node:util";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ListWatchStats } from "./list-watch-stats.ts";
import { type CacheEvent, createObjectStore } from "./list-watch-store.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { ListWatchSource } from "./paged-list.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { createReflector } from "./reflector.ts";

export type { ListWatchStats } from "./list-watch-stats.ts";
export type { CacheEvent, CacheEventType } from "./list-watch-store.ts";
export type { ListPage, ListParams, ListWatchSource } from "./paged-list.ts";

/** Objects per list page. */
export const DEFAULT_PAGE_SIZE = 500;
/**
 * A watch that delivers nothing, not even a bookmark, for this long is presumed dead. The API
 * server sends bookmarks about once a minute.
 */
export const DEFAULT_WATCHDOG_MS = 90_000;
/** Watches ask the server to end them after between one and two times this (client-go: 5 min). */
export const DEFAULT_MIN_WATCH_TIMEOUT_SECONDS = 300;
/** Ceiling of the first backoff after an error or 410; doubles per consecutive one. */
export const DEFAULT_BACKOFF_BASE_MS = 800;
export const DEFAULT_BACKOFF_CAP_MS = 30_000;
/** After this long without an error or 410, the next one backs off from the start again. */
export const DEFAULT_BACKOFF_RESET_MS = 120_000;
/** Give up on a list page that takes longer than this. */
export const DEFAULT_LIST_TIMEOUT_MS = 60_000;

export interface ListWatchCacheOptions<T> {
  kubeConfig: KubeConfig;
  source: ListWatchSource;
  /**
   * Projects a raw (watch) or typed (list) object; undefined leaves the object out of the cache
   * (and removes it if it was in).
   */
  project: (object: unknown) => T | undefined;
  /** The key `get` looks items up by (a pod's name, a record's request id). */
  key: (item: T) => string;
  /** Calls (list pages, watch starts) go through it when given. */
  limiter?: RateLimiter;
  labelSelector?: string;
  fieldSelector?: string;
  /** Whether an update changed anything; unchanged updates are not delivered. Default: deep equality. */
  equals?: (a: T, b: T) => boolean;
  /** Default {@link DEFAULT_PAGE_SIZE}. */
  pageSize?: number;
  /** Default {@link DEFAULT_WATCHDOG_MS}. */
  watchdogMs?: number;
  /** Default {@link DEFAULT_MIN_WATCH_TIMEOUT_SECONDS}. */
  minWatchTimeoutSeconds?: number;
  /** Default {@link DEFAULT_BACKOFF_BASE_MS}. */
  backoffBaseMs?: number;
  /** Default {@link DEFAULT_BACKOFF_CAP_MS}. */
  backoffCapMs?: number;
  /** Default {@link DEFAULT_BACKOFF_RESET_MS}. */
  backoffResetMs?: number;
  /** Default {@link DEFAULT_LIST_TIMEOUT_MS}. */
  listTimeoutMs?: number;
  logger?: Logger;
  /** Names the cache in logs, e.g. "pods". Default: the watch path. */
  name?: string;
}

export interface ListWatchCache<T> {
  /** Starts listing and watching; resolves once the first list is in the cache. Rejects only if
   * stopped before that. Calling it again returns the same promise. */
  start(): Promise<void>;
  /** Stops watching; resolves when nothing is left running. The cache keeps its contents. */
  stop(): Promise<void>;
  readonly synced: boolean;
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  readonly size: number;
  /** The resourceVersion the cache is current to ("" before the first list). */
  readonly resourceVersion: string;
  /** Listener errors are logged, never propagated. Returns the unsubscribe function. */
  subscribe(listener: (event: CacheEvent<T>) => void): () => void;
  readonly stats: Readonly<ListWatchStats>;
}

export function createListWatchCache<T>(options: ListWatchCacheOptions<T>): ListWatchCache<T> {
  const logger = options.logger ?? silentLogger;
  const name = options.name ?? options.source.watchPath;
  const projection = {
    project: options.project,
    key: options.key,
    equals: options.equals ?? isDeepStrictEqual,
  };
  const store = createObjectStore(projection, logger, name);
  const reflector = createReflector({
    kubeConfig: options.kubeConfig,
    source: options.source,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
    limiter: options.limiter,
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    listTimeoutMs: options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
    watchdogMs: options.watchdogMs ?? DEFAULT_WATCHDOG_MS,
    minWatchTimeoutSeconds: options.minWatchTimeoutSeconds ?? DEFAULT_MIN_WATCH_TIMEOUT_SECONDS,
    backoff: {
      baseMs: options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      capMs: options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS,
      resetMs: options.backoffResetMs ?? DEFAULT_BACKOFF_RESET_MS,
    },
    projection,
    store,
    logger,
    name,
  });
  return {
    start: () => reflector.start(),
    stop: () => reflector.stop(),
    get synced() {
      return reflector.synced;
    },
    get: (key) => store.get(key),
    values: () => store.values(),
    get size() {
      return store.size;
    },
    get resourceVersion() {
      return reflector.resourceVersion;
    },
    subscribe: (listener) => store.subscribe(listener),
    stats: reflector.stats,
  };
}
