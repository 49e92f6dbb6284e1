// One watch of a list-watch cache: from the resourceVersion the cache is current to, with
// bookmarks and a randomised server-side timeout, applying what it delivers to the store and
// advancing the resourceVersion, until it ends, fails, goes silent or the cache stops. A watch
// that delivers nothing, not even a bookmark, for too long is aborted by a watchdog.

import { type KubeConfig, Watch } from "@kubernetes/client-node";
import { KubeApiError, toKubeApiError } from "./api-errors.ts";
import type { ListWatchStats } from "./list-watch-stats.ts";
import type { ObjectStore } from "./list-watch-store.ts";
import type { Logger } from "./logger.ts";
import type { ListWatchSource } from "./paged-list.ts";

/** A watch closed by the server sooner than this having delivered nothing counts as an error. */
const SHORT_WATCH_MS = 1_000;
/**
 * client-node's Watch aborts after 30 s without data (a private `requestTimeoutMs`). The
 * watchdog decides here, so client-node's timer is pushed this far beyond it.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 30_000;

export type WatchOutcome =
  | { kind: "closed" }
  | { kind: "expired" }
  | { kind: "stalled" }
  | { kind: "stopped" }
  | { kind: "error"; error: KubeApiError };

export interface WatchStreamContext<T> {
  watch: Watch;
  source: ListWatchSource;
  labelSelector?: string;
  fieldSelector?: string;
  /** A watch silent this long is presumed dead. */
  watchdogMs: number;
  /** The server is asked to end the watch after between one and two times this. */
  minWatchTimeoutSeconds: number;
  stopping: AbortSignal;
  /** Sends a call, through the rate limiter when there is one. */
  throttled: <R>(send: () => Promise<R>) => Promise<R>;
  store: ObjectStore<T>;
  /** Where the cache is current to: the watch starts there and moves it on. */
  cursor: { resourceVersion: string };
  stats: ListWatchStats;
  logger: Logger;
  name: string;
}

interface WatchObject {
  metadata?: { resourceVersion?: string };
}

export function createWatch(kubeConfig: KubeConfig, watchdogMs: number): Watch {
  const watch = new Watch(kubeConfig);
  Reflect.set(watch, "requestTimeoutMs", watchdogMs + CLIENT_TIMEOUT_MARGIN_MS);
  return watch;
}

/** Resolves with how the watch ended; never rejects. */
export function watchOnce<T>(context: WatchStreamContext<T>): Promise<WatchOutcome> {
  const { stats, stopping } = context;
  // Stopped before it began (while the list landed): its abort listener would never fire.
  if (stopping.aborted) return Promise.resolve({ kind: "stopped" });
  const { promise, resolve } = Promise.withResolvers<WatchOutcome>();
  const openedAt = performance.now();
  let received = 0;
  let finished = false;
  let request: AbortController | undefined;
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
    stopping.removeEventListener("abort", onStop);
    request?.abort();
    resolve(outcome);
  };
  const onStop = (): void => finish({ kind: "stopped" });
  const watchdog = setTimeout(() => finish(reportStall(context)), context.watchdogMs);
  stopping.addEventListener("abort", onStop, { once: true });

  const onEvent = (type: string, object: WatchObject): void => {
    if (finished) return;
    watchdog.refresh();
    received++;
    stats.lastEventAt = Date.now();
    if (type === "ERROR") {
      finish(outcomeOfError(object));
      return;
    }
    held();
    deliver(context, type, object);
  };
  const onDone = (error: unknown): void => {
    if (!finished) finish(outcomeOfEnd(error, received, openedAt));
  };
  const { source, watch } = context;
  const query = watchQuery(context);
  context
    .throttled(() => watch.watch(source.watchPath, query, onEvent, onDone))
    .then((opened) => {
      request = opened;
      if (finished) opened.abort();
      // An expired resourceVersion is answered with an ERROR event right after the headers.
      else if (stats.lastError !== undefined) holding = setTimeout(held, SHORT_WATCH_MS);
    }, onDone);
  return promise;
}

function watchQuery<T>(context: WatchStreamContext<T>) {
  return {
    allowWatchBookmarks: true,
    resourceVersion: context.cursor.resourceVersion || undefined,
    timeoutSeconds: Math.floor(context.minWatchTimeoutSeconds * (1 + Math.random())),
    labelSelector: context.labelSelector,
    fieldSelector: context.fieldSelector,
  };
}

/** Applies an event or bookmark the watch delivered, and moves the cursor past it. */
function deliver<T>(context: WatchStreamContext<T>, type: string, object: WatchObject): void {
  const version = object?.metadata?.resourceVersion;
  if (type === "BOOKMARK") {
    if (version) context.cursor.resourceVersion = version;
    return;
  }
  if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") return;
  context.stats.events++;
  if (version) context.cursor.resourceVersion = version;
  // client-node swallows whatever the event callback throws; a faulty projection must show.
  try {
    context.store.apply(type, object);
  } catch (error) {
    context.logger.error({ cache: context.name, type, err: error }, "cannot apply a watch event");
  }
}

function reportStall<T>(context: WatchStreamContext<T>): WatchOutcome {
  context.stats.stalls++;
  const { name, watchdogMs, cursor } = context;
  context.logger.warn(
    { cache: name, watchdogMs, resourceVersion: cursor.resourceVersion },
    "watch went silent; restarting it",
  );
  return { kind: "stalled" };
}

function outcomeOfError(error: unknown): WatchOutcome {
  const apiError = toKubeApiError(error);
  return apiError.kind === "expired" ? { kind: "expired" } : { kind: "error", error: apiError };
}

/** How a watch that the server or the connection ended went. */
function outcomeOfEnd(error: unknown, received: number, openedAt: number): WatchOutcome {
  if (error) return outcomeOfError(error);
  if (received === 0 && performance.now() - openedAt < SHORT_WATCH_MS) {
    const message = "watch closed at once without delivering anything";
    return { kind: "error", error: new KubeApiError("transient", message) };
  }
  return { kind: "closed" };
}
