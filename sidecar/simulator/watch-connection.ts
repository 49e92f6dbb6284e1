import type { ServerResponse } from "node:http";
import type { FieldSelector } from "./field-selector.ts";
import type { LabelSelector } from "./label-selector.ts";
import type { KubeObject, Status } from "./object-types.ts";
import type { ResourceInfo } from "./resources.ts";
import type { StoreWatcher } from "./store.ts";
import { type StoreEvent, type StoreEventType, toJson } from "./store-event.ts";
import { type IncludeObject, toTable } from "./table.ts";

/**
 * A watch whose backlog (bytes written but not yet taken by the client) passes this is closed,
 * as the API server closes watchers too slow to keep up.
 */
export const MAX_WATCH_BACKLOG_BYTES = 64 * 1024 * 1024;

/** How much rendering the watches did, to check that fan-out does not multiply it. */
export interface WatchStats {
  /** Event lines rendered (JSON text built and encoded). */
  rendered: number;
  /** Event lines handed to watch connections (one per watcher that receives an event). */
  delivered: number;
}

/** What a watch sends: plain objects, or Table rows for `kubectl get -w`. */
export type WatchFormat = { kind: "object" } | { kind: "table"; include: IncludeObject };

export interface WatchConnectionOptions {
  id: number;
  info: ResourceInfo;
  response: ServerResponse;
  labels: LabelSelector;
  fields: FieldSelector;
  format: WatchFormat;
  /** Send BOOKMARK events every `bookmarkIntervalMs`; false when the client did not ask. */
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  /** Close the watch after this long (the timeoutSeconds parameter). */
  timeoutMs: number | undefined;
  /** Starts stalled (a stall fault is in force). */
  stalled: boolean;
  /** The store's current resourceVersion, for bookmarks. */
  currentResourceVersion: () => number;
  /** Called once when the connection ends, however it ends. */
  onClose: (connection: WatchConnection) => void;
  stats: WatchStats;
}

/** One open watch: a store watcher that filters, renders once, batches and writes events. */
export interface WatchConnection extends StoreWatcher {
  readonly id: number;
  readonly resource: string;
  readonly closed: boolean;
  /** Sends synthetic ADDED events for the objects that exist when the watch starts. */
  sendInitial(objects: readonly KubeObject[]): void;
  /** Sends a BOOKMARK now, with optional annotations (e.g. the initial-events-end marker). */
  sendBookmark(annotations?: Record<string, string>): void;
  /** Ends the watch cleanly with an ERROR event carrying `status`. */
  fail(status: Status): void;
  /** Ends the response cleanly (the client sees the stream end). */
  close(): void;
  /** Destroys the socket (the client sees a connection reset). */
  reset(): void;
  /** Holds everything back, connection open, until resume(). */
  stall(): void;
  resume(): void;
}

const flushQueue = new Set<() => void>();
let flushScheduled = false;

/** Writes of all watches are batched per event-loop turn: one write per watch per turn. */
function scheduleFlush(flush: () => void) {
  flushQueue.add(flush);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      const batch = [...flushQueue];
      flushQueue.clear();
      for (const run of batch) run();
    });
  }
}

const addedLines = new WeakMap<KubeObject, Buffer>();

function objectLine(type: StoreEventType, object: KubeObject): Buffer {
  return Buffer.from(`{"type":"${type}","object":${toJson(object)}}\n`);
}

export function createWatchConnection(options: WatchConnectionOptions): WatchConnection {
  const { response, labels, fields, format, info } = options;
  const selecting = !labels.empty || !fields.empty;
  const pending: Buffer[] = [];
  let closed = false;
  let stalled = options.stalled;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;

  const matches = (object: KubeObject) =>
    labels.matches(object.metadata.labels) && fields.matches(object);

  const { stats } = options;
  const render = (type: StoreEventType, object: KubeObject): Buffer => {
    stats.rendered++;
    if (format.kind === "object") return objectLine(type, object);
    const table = toTable(
      info.name,
      [object],
      format.include,
      { resourceVersion: object.metadata.resourceVersion },
      Date.now(),
    );
    return Buffer.from(`${JSON.stringify({ type, object: table })}\n`);
  };

  /** The rendering of `event` as `type`, shared by every watch that sends the same bytes. */
  const cached = (
    event: StoreEvent,
    variant: string,
    type: StoreEventType,
    object: () => KubeObject,
  ) => {
    const key = format.kind === "object" ? variant : `${variant}/table/${format.include}`;
    let line = event.renderings.get(key);
    if (!line) {
      line = render(type, object());
      event.renderings.set(key, line);
    }
    return line;
  };

  const flush = () => {
    if (closed || stalled || pending.length === 0) return;
    const chunk = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending.length = 0;
    response.write(chunk);
    if (response.writableLength > MAX_WATCH_BACKLOG_BYTES) connection.close();
  };

  const enqueue = (line: Buffer) => {
    if (closed) return;
    stats.delivered++;
    pending.push(line);
    scheduleFlush(flush);
  };

  const finish = () => {
    if (closed) return;
    closed = true;
    clearTimeout(bookmarkTimer);
    clearTimeout(timeoutTimer);
    pending.length = 0;
    flushQueue.delete(flush);
    options.onClose(connection);
  };

  const connection: WatchConnection = {
    id: options.id,
    resource: info.name,
    get closed() {
      return closed;
    },
    deliver(event) {
      if (closed) return;
      if (!selecting) {
        enqueue(cached(event, event.type, event.type, () => event.object));
        return;
      }
      const now = event.type !== "DELETED" && matches(event.object);
      const before = event.previous !== undefined && matches(event.previous);
      if (now && before) {
        enqueue(cached(event, "MODIFIED", "MODIFIED", () => event.object));
      } else if (now) {
        enqueue(cached(event, "ADDED", "ADDED", () => event.object));
      } else if (before) {
        // Leaving the selection reads as a deletion of the last matching state, at this version.
        const previous = event.previous as KubeObject;
        enqueue(
          cached(event, "DELETED", "DELETED", () =>
            event.type === "DELETED"
              ? event.object
              : {
                  ...previous,
                  metadata: {
                    ...previous.metadata,
                    resourceVersion: String(event.resourceVersion),
                  },
                },
          ),
        );
      }
    },
    sendInitial(objects) {
      for (const object of objects) {
        if (selecting && !matches(object)) continue;
        if (format.kind !== "object") {
          enqueue(render("ADDED", object));
          continue;
        }
        let line = addedLines.get(object);
        if (!line) {
          stats.rendered++;
          line = objectLine("ADDED", object);
          addedLines.set(object, line);
        }
        enqueue(line);
      }
    },
    sendBookmark(annotations) {
      const metadata: Record<string, unknown> = {
        resourceVersion: String(options.currentResourceVersion()),
      };
      if (annotations) metadata.annotations = annotations;
      const object = { kind: info.kind, apiVersion: info.apiVersion, metadata };
      enqueue(Buffer.from(`${JSON.stringify({ type: "BOOKMARK", object })}\n`));
    },
    fail(status) {
      if (closed) return;
      response.write(`${JSON.stringify({ type: "ERROR", object: status })}\n`);
      response.end();
      finish();
    },
    close() {
      if (closed) return;
      stalled = false;
      flush();
      response.end();
      finish();
    },
    reset() {
      if (closed) return;
      finish();
      const socket = response.socket;
      if (socket && typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
      else socket?.destroy();
    },
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      scheduleFlush(flush);
    },
  };

  response.on("close", finish);
  if (options.bookmarks) {
    const tick = () => {
      if (!stalled) connection.sendBookmark();
      bookmarkTimer = setTimeout(tick, options.bookmarkIntervalMs).unref();
    };
    bookmarkTimer = setTimeout(tick, options.bookmarkIntervalMs).unref();
  }
  if (options.timeoutMs !== undefined) {
    timeoutTimer = setTimeout(() => connection.close(), options.timeoutMs).unref();
  }
  return connection;
}
