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

import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { type ConfigurationOptions, type KubeConfig, Watch } from "@kubernetes/client-node";
import { abortOptions } from "./abort-options.ts";
import { KubeApiError, toKubeApiError } from "./api-errors.ts";
import { equalJitterDelayMs } from "./backoff.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { RateLimiter } from "./rate-limiter.ts";

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
/** A watch closed by the server sooner than this having delivered nothing counts as an error. */
const SHORT_WATCH_MS = 1_000;
/**
 * client-node's Watch aborts after 30 s without data (a private `requestTimeoutMs`). The
 * watchdog decides here, so client-node's timer is pushed this far beyond it.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 30_000;

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit: number;
  _continue?: string;
}

/** The shape of a client-node list result (V1PodList, V1ConfigMapList, …). */
export interface ListPage {
  metadata?: { resourceVersion?: string; _continue?: string };
  items: unknown[];
}

/** Where the objects come from: a collection path to watch and the typed list call for it. */
export interface ListWatchSource {
  /** e.g. `/api/v1/namespaces/hpc/pods` */
  watchPath: string;
  list(params: ListParams, options: ConfigurationOptions): Promise<ListPage>;
}

export type CacheEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent<T> {
  type: CacheEventType;
  key: string;
  /** The new state; for DELETED the last state known. */
  item: T;
  /** The state before this event; undefined for ADDED. */
  previous: T | undefined;
}

export interface ListWatchStats {
  /** Completed lists, the first included. */
  lists: number;
  /** Completed lists after the first (410 or a failed watch start that needed one). */
  relists: number;
  /** How long the last completed list took, every page and its wait for the rate limiter. */
  lastListMs: number;
  /** Waits after an error or before a relist, their total, and the last one, in ms. */
  backoffs: number;
  backoffMs: number;
  lastBackoffMs: number;
  /** Watches resumed from a resourceVersion after the previous one ended, failed or stalled. */
  watchRestarts: number;
  /** Watches the inactivity watchdog aborted. */
  stalls: number;
  /** ADDED/MODIFIED/DELETED events received from watches. */
  events: number;
  /** Epoch ms of the last thing a watch delivered (bookmarks included); 0 before any. */
  lastEventAt: number;
  /**
   * The last error met, while the cache may be behind because of it: cleared by a successful
   * list, or by a watch resumed after it that has held (delivered an event, or stayed open
   * {@link SHORT_WATCH_MS} without an error).
   */
  lastError: string | undefined;
}

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

type WatchOutcome =
  | { kind: "closed" }
  | { kind: "expired" }
  | { kind: "stalled" }
  | { kind: "stopped" }
  | { kind: "error"; error: KubeApiError };

interface WatchObject {
  metadata?: { resourceVersion?: string; namespace?: string; name?: string };
}

/** What the cache holds for one Kubernetes object. */
interface Entry<T> {
  /** The item's lookup key, `options.key(item)`. */
  key: string;
  item: T;
}

/** An object's identity whatever its content: "namespace/name", or "name" when cluster-scoped. */
function objectIdOf(object: unknown): string | undefined {
  const metadata = (object as WatchObject | undefined)?.metadata;
  if (!metadata?.name) return undefined;
  return metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}

export function createListWatchCache<T>(options: ListWatchCacheOptions<T>): ListWatchCache<T> {
  const { source, project, key } = options;
  const equals = options.equals ?? isDeepStrictEqual;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const watchdogMs = options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  const minWatchTimeoutSeconds =
    options.minWatchTimeoutSeconds ?? DEFAULT_MIN_WATCH_TIMEOUT_SECONDS;
  const backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const backoffCapMs = options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS;
  const backoffResetMs = options.backoffResetMs ?? DEFAULT_BACKOFF_RESET_MS;
  const listTimeoutMs = options.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS;
  const logger = options.logger ?? silentLogger;
  const name = options.name ?? source.watchPath;
  const limiter = options.limiter;

  const watch = new Watch(options.kubeConfig);
  Reflect.set(watch, "requestTimeoutMs", watchdogMs + CLIENT_TIMEOUT_MARGIN_MS);

  /** By object id. */
  let entries = new Map<string, Entry<T>>();
  /**
   * Lookup key → object ids holding it, newest last. Two objects share a key only when something
   * foreign copies our labels; the newest answers `get` and the other stays visible in `values()`.
   */
  let byKey = new Map<string, string[]>();
  const listeners = new Set<(event: CacheEvent<T>) => void>();
  const stats: ListWatchStats = {
    lists: 0,
    relists: 0,
    lastListMs: 0,
    backoffs: 0,
    backoffMs: 0,
    lastBackoffMs: 0,
    watchRestarts: 0,
    stalls: 0,
    events: 0,
    lastEventAt: 0,
    lastError: undefined,
  };
  let resourceVersion = "";
  let synced = false;
  const stopping = new AbortController();
  let started: Promise<void> | undefined;
  let running: Promise<void> | undefined;
  let onSynced: () => void = () => {};
  let onStoppedEarly: (error: Error) => void = () => {};

  const listCall = { verb: "list", resource: options.source.watchPath.split("/").pop() ?? "" };
  const throttled = <R>(fn: () => Promise<R>): Promise<R> =>
    limiter ? limiter.schedule(fn, stopping.signal, listCall) : fn();

  const emit = (event: CacheEvent<T>): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger.error({ cache: name, key: event.key, err: error }, "cache listener threw");
      }
    }
  };

  const index = (k: string, id: string): void => {
    const ids = byKey.get(k);
    if (ids === undefined) byKey.set(k, [id]);
    else if (!ids.includes(id)) ids.push(id);
  };
  const unindex = (k: string, id: string): void => {
    const ids = byKey.get(k)?.filter((other) => other !== id);
    if (ids === undefined || ids.length === 0) byKey.delete(k);
    else byKey.set(k, ids);
  };

  /** The events turning `before` into `after` for one object, `after` undefined when it left. */
  const emitChange = (before: Entry<T> | undefined, after: Entry<T> | undefined): void => {
    // An object whose lookup key changed is, to subscribers, one item gone and another come.
    const same = before !== undefined && after !== undefined && before.key === after.key;
    if (before !== undefined && !same) {
      emit({ type: "DELETED", key: before.key, item: before.item, previous: before.item });
    }
    if (after === undefined) return;
    if (!same) emit({ type: "ADDED", key: after.key, item: after.item, previous: undefined });
    else if (!equals(before.item, after.item)) {
      emit({ type: "MODIFIED", key: after.key, item: after.item, previous: before.item });
    }
  };

  const entryOf = (object: unknown): Entry<T> | undefined => {
    const item = project(object);
    return item === undefined ? undefined : { key: key(item), item };
  };

  /** Applies one watch event to the object it names, emitting only real changes. */
  const apply = (type: CacheEventType, object: unknown): void => {
    const id = objectIdOf(object);
    if (id === undefined) return;
    const before = entries.get(id);
    // A DELETED object is gone whatever it looks like; an object that no longer projects is too.
    const after = type === "DELETED" ? undefined : entryOf(object);
    if (before === undefined && after === undefined) return;
    if (before !== undefined && after !== undefined && before.key === after.key) {
      if (equals(before.item, after.item)) return;
    }
    if (before !== undefined) unindex(before.key, id);
    if (after === undefined) entries.delete(id);
    else {
      entries.set(id, after);
      index(after.key, id);
    }
    emitChange(before, after);
  };

  /** Swaps in a full list, synthesising the events a watch would have delivered. */
  const replace = (fresh: Map<string, Entry<T>>): void => {
    const old = entries;
    entries = fresh;
    byKey = new Map();
    for (const [id, entry] of fresh) index(entry.key, id);
    for (const [id, before] of old) {
      if (!fresh.has(id)) emitChange(before, undefined);
    }
    for (const [id, after] of fresh) emitChange(old.get(id), after);
  };

  const listAll = async (): Promise<void> => {
    const startedAt = performance.now();
    const fresh = new Map<string, Entry<T>>();
    let continueToken: string | undefined;
    let listedVersion = "";
    do {
      const params: ListParams = { limit: pageSize };
      if (options.labelSelector) params.labelSelector = options.labelSelector;
      if (options.fieldSelector) params.fieldSelector = options.fieldSelector;
      if (continueToken) params._continue = continueToken;
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(listTimeoutMs)]);
      const page = await throttled(() => source.list(params, abortOptions(signal)));
      for (const object of page.items) {
        const id = objectIdOf(object);
        const entry = id === undefined ? undefined : entryOf(object);
        if (id !== undefined && entry !== undefined) fresh.set(id, entry);
      }
      continueToken = page.metadata?._continue || undefined;
      listedVersion = page.metadata?.resourceVersion ?? listedVersion;
    } while (continueToken);
    resourceVersion = listedVersion;
    replace(fresh);
    stats.lastListMs = performance.now() - startedAt;
    stats.lists++;
    if (synced) stats.relists++;
    stats.lastError = undefined;
    logger.debug({ cache: name, size: entries.size, resourceVersion }, "cache listed");
    if (!synced) {
      synced = true;
      onSynced();
    }
  };

  const watchOnce = (): Promise<WatchOutcome> =>
    new Promise((resolve) => {
      const openedAt = performance.now();
      let received = 0;
      let finished = false;
      let controller: AbortController | undefined;
      let holding: ReturnType<typeof setTimeout> | undefined;
      /** The watch resumed where the cache left off: from here it receives every change. */
      const held = (): void => {
        clearTimeout(holding);
        stats.lastError = undefined;
      };
      const finish = (outcome: WatchOutcome): void => {
        if (finished) return;
        finished = true;
        clearTimeout(watchdog);
        clearTimeout(holding);
        stopping.signal.removeEventListener("abort", onStop);
        controller?.abort();
        resolve(outcome);
      };
      const onStop = (): void => finish({ kind: "stopped" });
      const watchdog = setTimeout(() => {
        stats.stalls++;
        logger.warn(
          { cache: name, watchdogMs, resourceVersion },
          "watch went silent; restarting it",
        );
        finish({ kind: "stalled" });
      }, watchdogMs);
      stopping.signal.addEventListener("abort", onStop, { once: true });

      const onEvent = (type: string, object: WatchObject): void => {
        if (finished) return;
        watchdog.refresh();
        received++;
        stats.lastEventAt = Date.now();
        if (type === "ERROR") {
          const error = toKubeApiError(object);
          finish(error.kind === "expired" ? { kind: "expired" } : { kind: "error", error });
          return;
        }
        held();
        const version = object?.metadata?.resourceVersion;
        if (type === "BOOKMARK") {
          if (version) resourceVersion = version;
          return;
        }
        if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return;
        stats.events++;
        if (version) resourceVersion = version;
        // client-node swallows whatever this callback throws; a faulty projection must show.
        try {
          apply(type, object);
        } catch (error) {
          logger.error({ cache: name, type, err: error }, "cannot apply a watch event");
        }
      };
      const onDone = (error: unknown): void => {
        if (finished) return;
        if (error) {
          const apiError = toKubeApiError(error);
          finish(
            apiError.kind === "expired" ? { kind: "expired" } : { kind: "error", error: apiError },
          );
        } else if (received === 0 && performance.now() - openedAt < SHORT_WATCH_MS) {
          const message = "watch closed at once without delivering anything";
          finish({ kind: "error", error: new KubeApiError("transient", message) });
        } else {
          finish({ kind: "closed" });
        }
      };
      const timeoutSeconds = Math.floor(minWatchTimeoutSeconds * (1 + Math.random()));
      const query = {
        allowWatchBookmarks: true,
        resourceVersion: resourceVersion || undefined,
        timeoutSeconds,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      };
      throttled(() => watch.watch(source.watchPath, query, onEvent, onDone)).then((opened) => {
        controller = opened;
        if (finished) opened.abort();
        // An expired resourceVersion is answered with an ERROR event right after the headers.
        else if (stats.lastError !== undefined) holding = setTimeout(held, SHORT_WATCH_MS);
      }, onDone);
    });

  const run = async (): Promise<void> => {
    let needList = true;
    let failures = 0;
    let lastFailureAt = Number.NEGATIVE_INFINITY;
    const backOff = async (error: KubeApiError, operation: string): Promise<void> => {
      const now = performance.now();
      if (now - lastFailureAt > backoffResetMs) failures = 0;
      lastFailureAt = now;
      const delayMs = equalJitterDelayMs(failures++, backoffBaseMs, backoffCapMs);
      stats.backoffs++;
      stats.backoffMs += delayMs;
      stats.lastBackoffMs = delayMs;
      stats.lastError = error.message;
      const fields = { cache: name, kind: error.kind, status: error.status, delayMs };
      if (error.kind === "expired")
        logger.info({ ...fields, resourceVersion }, `${operation}; relisting`);
      else logger.warn({ ...fields, err: error.message }, `cache ${operation} failed; retrying`);
      await sleep(delayMs, undefined, { signal: stopping.signal }).catch(() => {});
    };

    let resumed = false;
    let listExpiredBefore = false;
    while (!stopping.signal.aborted) {
      if (needList) {
        try {
          await listAll();
          needList = false;
          resumed = false;
          listExpiredBefore = false;
        } catch (error) {
          if (stopping.signal.aborted) break;
          const apiError = toKubeApiError(error);
          // An expired continue token only means the list took too long: start it over at once,
          // but not twice in a row.
          if (apiError.kind !== "expired" || listExpiredBefore) await backOff(apiError, "list");
          listExpiredBefore = apiError.kind === "expired";
          continue;
        }
      }
      if (resumed) stats.watchRestarts++;
      resumed = true;
      const outcome = await watchOnce();
      if (outcome.kind === "expired") {
        // One 410 is routine (history compacted while the watch was away); 410s back to back
        // mean relisting cannot catch up, and each relist is pages of reads: pace them.
        await backOff(
          new KubeApiError("expired", "watch history expired"),
          "watch history expired",
        );
        needList = true;
      } else if (outcome.kind === "error") {
        await backOff(outcome.error, "watch");
      }
    }
  };

  return {
    start() {
      if (started) return started;
      if (stopping.signal.aborted) {
        return Promise.reject(new Error(`cache ${name} was stopped and cannot start again`));
      }
      started = new Promise<void>((resolve, reject) => {
        onSynced = resolve;
        onStoppedEarly = reject;
      });
      // Marks the promise handled: a caller that stops without awaiting start() must not crash.
      started.catch(() => {});
      running = run();
      return started;
    },
    async stop() {
      stopping.abort();
      if (!synced) onStoppedEarly(new Error(`cache ${name} stopped before its first list`));
      await running;
    },
    get synced() {
      return synced;
    },
    get(k) {
      const ids = byKey.get(k);
      return ids === undefined ? undefined : entries.get(ids[ids.length - 1] as string)?.item;
    },
    *values() {
      for (const entry of entries.values()) yield entry.item;
    },
    get size() {
      return entries.size;
    },
    get resourceVersion() {
      return resourceVersion;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    stats,
  };
}
