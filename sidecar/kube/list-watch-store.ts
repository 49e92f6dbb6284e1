// What a list-watch cache holds: projections keyed by the object's own identity (namespace/name),
// the projection being only the value, so that an object edited into a shape that no longer
// projects is removed, never left stale. Every change reaches the subscribers as the event a
// watch would have delivered, a full relist included.

import type { Logger } from "./logger.ts";

export type CacheEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent<T> {
  type: CacheEventType;
  key: string;
  /** The new state; for DELETED the last state known. */
  item: T;
  /** The state before this event; undefined for ADDED. */
  previous: T | undefined;
}

/** How an object becomes what the cache holds, and how held items are told apart. */
export interface Projection<T> {
  /** Undefined leaves the object out of the cache (and removes it if it was in). */
  project: (object: unknown) => T | undefined;
  /** The key `get` looks items up by. */
  key: (item: T) => string;
  /** Whether an update changed anything; unchanged updates are not delivered. */
  equals: (a: T, b: T) => boolean;
}

/** What the cache holds for one Kubernetes object. */
export interface Entry<T> {
  /** The item's lookup key, `projection.key(item)`. */
  key: string;
  item: T;
}

/** Entries by object id. */
export type Entries<T> = Map<string, Entry<T>>;

interface ObjectWithIdentity {
  metadata?: { namespace?: string; name?: string };
}

/** An object's identity whatever its content: "namespace/name", or "name" when cluster-scoped. */
export function objectIdOf(object: unknown): string | undefined {
  const metadata = (object as ObjectWithIdentity | undefined)?.metadata;
  if (!metadata?.name) return undefined;
  return metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}

export function entryOf<T>(projection: Projection<T>, object: unknown): Entry<T> | undefined {
  const item = projection.project(object);
  return item === undefined ? undefined : { key: projection.key(item), item };
}

export interface ObjectStore<T> {
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  readonly size: number;
  /** Listener errors are logged, never propagated. Returns the unsubscribe function. */
  subscribe(listener: (event: CacheEvent<T>) => void): () => void;
  /** Applies one watch event to the object it names, emitting only real changes. */
  apply(type: CacheEventType, object: unknown): void;
  /** Swaps in a full list, synthesising the events a watch would have delivered. */
  replace(fresh: Entries<T>): void;
}

export function createObjectStore<T>(
  projection: Projection<T>,
  logger: Logger,
  name: string,
): ObjectStore<T> {
  let entries: Entries<T> = new Map();
  const byKey = createKeyIndex();
  const subscribers = createFanOut<T>(logger, name);
  const emitChange = (before: Entry<T> | undefined, after: Entry<T> | undefined): void =>
    emitChangeEvents(before, after, projection.equals, subscribers.emit);

  return {
    get(key) {
      const id = byKey.newest(key);
      return id === undefined ? undefined : entries.get(id)?.item;
    },
    *values() {
      for (const entry of entries.values()) yield entry.item;
    },
    get size() {
      return entries.size;
    },
    subscribe: subscribers.subscribe,
    apply(type, object) {
      const id = objectIdOf(object);
      if (id === undefined) return;
      const before = entries.get(id);
      // A DELETED object is gone whatever it looks like; an object that no longer projects is too.
      const after = type === "DELETED" ? undefined : entryOf(projection, object);
      if (before === undefined && after === undefined) return;
      if (before !== undefined && after !== undefined && before.key === after.key) {
        if (projection.equals(before.item, after.item)) return;
      }
      if (before !== undefined) byKey.remove(before.key, id);
      if (after === undefined) entries.delete(id);
      else {
        entries.set(id, after);
        byKey.add(after.key, id);
      }
      emitChange(before, after);
    },
    replace(fresh) {
      const old = entries;
      entries = fresh;
      byKey.rebuild(fresh);
      for (const [id, before] of old) {
        if (!fresh.has(id)) emitChange(before, undefined);
      }
      for (const [id, after] of fresh) emitChange(old.get(id), after);
    },
  };
}

/** Emits the events turning `before` into `after` for one object, `after` undefined when it left. */
function emitChangeEvents<T>(
  before: Entry<T> | undefined,
  after: Entry<T> | undefined,
  equals: (a: T, b: T) => boolean,
  emit: (event: CacheEvent<T>) => void,
): void {
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
}

/**
 * Lookup key → object ids holding it, newest last. Two objects share a key only when something
 * foreign copies our labels; the newest answers `get` and the other stays visible in `values()`.
 */
function createKeyIndex() {
  let byKey = new Map<string, string[]>();
  const add = (key: string, id: string): void => {
    const ids = byKey.get(key);
    if (ids === undefined) byKey.set(key, [id]);
    else if (!ids.includes(id)) ids.push(id);
  };
  return {
    add,
    remove(key: string, id: string): void {
      const ids = byKey.get(key)?.filter((other) => other !== id);
      if (ids === undefined || ids.length === 0) byKey.delete(key);
      else byKey.set(key, ids);
    },
    rebuild(entries: Entries<unknown>): void {
      byKey = new Map();
      for (const [id, entry] of entries) add(entry.key, id);
    },
    newest(key: string): string | undefined {
      return byKey.get(key)?.at(-1);
    },
  };
}

function createFanOut<T>(logger: Logger, name: string) {
  const listeners = new Set<(event: CacheEvent<T>) => void>();
  return {
    subscribe(listener: (event: CacheEvent<T>) => void): () => void {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(event: CacheEvent<T>): void {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          logger.error({ cache: name, key: event.key, err: error }, "cache listener threw");
        }
      }
    },
  };
}
