import { createEventHistory, type EventHistory } from "./event-history.ts";
import type { KubeObject } from "./object-types.ts";
import type { Random } from "./random.ts";
import { namespaceOf, resourceNamed } from "./resources.ts";
import { gone } from "./status-error.ts";
import { deepFreeze, type StoreEvent, type StoreEventType } from "./store-event.ts";

/** A consumer of one resource's events, e.g. a watch connection; called in store order. */
export interface StoreWatcher {
  deliver(event: StoreEvent): void;
}

/**
 * The simulator's ground truth, playing etcd and the API server's watch cache: objects by
 * resource, namespace and name; one monotonic resourceVersion; a bounded history per resource.
 * It enforces no API rules (the REST layer does); tests may use it directly to read the truth
 * or to change objects behind the API's back, and every change reaches watchers.
 */
export interface Store {
  /** The newest resourceVersion handed out. */
  readonly resourceVersion: number;
  get(resource: string, namespace: string, name: string): KubeObject | undefined;
  /** Objects of a resource, in one namespace or all; unordered. */
  list(resource: string, namespace?: string): KubeObject[];
  count(resource: string, namespace?: string): number;
  /**
   * Stores `object` (a copy, frozen) as the new state, filling uid and creationTimestamp when
   * missing and stamping the next resourceVersion; emits ADDED or MODIFIED. Returns the stored
   * object.
   */
  put(resource: string, object: KubeObject): KubeObject;
  /** Removes an object at once, emitting DELETED; returns its last state, if it existed. */
  delete(resource: string, namespace: string, name: string): KubeObject | undefined;
  /** Calls `listener` with every event of `resource`, after it is stored. Returns unsubscribe. */
  subscribe(resource: string, listener: (event: StoreEvent) => void): () => void;
  /**
   * Registers a watcher for one namespace (or all, with undefined) and hands it, first, the
   * retained events after `resourceVersion` when given. Throws 410 Expired when some of those
   * events were compacted away. Returns the function that removes the watcher.
   */
  watch(
    resource: string,
    namespace: string | undefined,
    resourceVersion: number | undefined,
    watcher: StoreWatcher,
  ): () => void;
  /**
   * The objects of a resource as they were at `resourceVersion`, sorted by namespace/name;
   * undefined when the history needed to rebuild that state was compacted away.
   */
  snapshot(
    resource: string,
    namespace: string | undefined,
    resourceVersion: number,
  ): readonly KubeObject[] | undefined;
  history(resource: string): EventHistory;
  /** Drops every retained event, so that any resume from an older resourceVersion gets 410. */
  compact(): void;
}

export interface StoreOptions {
  /** Events retained per resource for watch resumption and consistent list pages. */
  historyWindow: number;
  random: Random;
  /** Clock for creationTimestamp. */
  now: () => Date;
}

/** Consistent list snapshots kept for continue tokens (each is an array of references). */
const SNAPSHOT_CACHE_SIZE = 8;

interface Collection {
  readonly byNamespace: Map<string, Map<string, KubeObject>>;
  size: number;
  readonly history: EventHistory;
  readonly listeners: Set<(event: StoreEvent) => void>;
  /** Watchers by namespace; the key "" of a namespaced resource holds all-namespace watchers. */
  readonly watchers: Map<string, Set<StoreWatcher>>;
}

export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function createStore(options: StoreOptions): Store {
  const collections = new Map<string, Collection>();
  let resourceVersion = 0;
  const snapshots = new Map<string, readonly KubeObject[]>();
  // Events are dispatched from a queue so that a listener that writes while being notified
  // cannot make watchers see its event before the one that caused it.
  const pending: StoreEvent[] = [];
  let dispatching = false;

  const collection = (resource: string): Collection => {
    let found = collections.get(resource);
    if (!found) {
      resourceNamed(resource);
      found = {
        byNamespace: new Map(),
        size: 0,
        history: createEventHistory(options.historyWindow),
        listeners: new Set(),
        watchers: new Map(),
      };
      collections.set(resource, found);
    }
    return found;
  };

  const dispatch = () => {
    if (dispatching) return;
    dispatching = true;
    try {
      for (let event = pending.shift(); event; event = pending.shift()) {
        const { listeners, watchers } = collection(event.resource);
        for (const listener of listeners) listener(event);
        const scoped = watchers.get(namespaceOf(event.object));
        if (scoped) for (const watcher of scoped) watcher.deliver(event);
        if (namespaceOf(event.object) !== "") {
          const everywhere = watchers.get("");
          if (everywhere) for (const watcher of everywhere) watcher.deliver(event);
        }
      }
    } finally {
      dispatching = false;
    }
  };

  const emit = (
    resource: string,
    type: StoreEventType,
    object: KubeObject,
    previous: KubeObject | undefined,
  ) => {
    const event: StoreEvent = {
      type,
      resource,
      resourceVersion,
      object,
      previous,
      renderings: new Map(),
    };
    collection(resource).history.push(event);
    pending.push(event);
    dispatch();
  };

  const stamp = (object: KubeObject, previous: KubeObject | undefined): KubeObject => {
    const copy = structuredClone(object);
    resourceVersion++;
    copy.metadata.resourceVersion = String(resourceVersion);
    copy.metadata.uid ??= previous?.metadata.uid ?? options.random.uuid();
    copy.metadata.creationTimestamp ??=
      previous?.metadata.creationTimestamp ?? rfc3339(options.now());
    return deepFreeze(copy);
  };

  const list = (resource: string, namespace?: string): KubeObject[] => {
    const { byNamespace } = collection(resource);
    if (namespace !== undefined) return [...(byNamespace.get(namespace)?.values() ?? [])];
    const all: KubeObject[] = [];
    for (const objects of byNamespace.values())
      for (const object of objects.values()) all.push(object);
    return all;
  };

  return {
    get resourceVersion() {
      return resourceVersion;
    },
    get(resource, namespace, name) {
      return collection(resource).byNamespace.get(namespace)?.get(name);
    },
    list,
    count(resource, namespace) {
      const found = collection(resource);
      return namespace === undefined ? found.size : (found.byNamespace.get(namespace)?.size ?? 0);
    },
    put(resource, object) {
      const name = object.metadata?.name;
      if (!name) throw new TypeError(`cannot store a ${resource} object without metadata.name`);
      const found = collection(resource);
      const namespace = namespaceOf(object);
      let objects = found.byNamespace.get(namespace);
      if (!objects) {
        objects = new Map();
        found.byNamespace.set(namespace, objects);
      }
      const previous = objects.get(name);
      const stored = stamp(object, previous);
      objects.set(name, stored);
      if (!previous) found.size++;
      emit(resource, previous ? "MODIFIED" : "ADDED", stored, previous);
      return stored;
    },
    delete(resource, namespace, name) {
      const found = collection(resource);
      const objects = found.byNamespace.get(namespace);
      const previous = objects?.get(name);
      if (!objects || !previous) return undefined;
      objects.delete(name);
      if (objects.size === 0) found.byNamespace.delete(namespace);
      found.size--;
      resourceVersion++;
      const last = deepFreeze({
        ...previous,
        metadata: { ...previous.metadata, resourceVersion: String(resourceVersion) },
      });
      emit(resource, "DELETED", last, previous);
      return last;
    },
    subscribe(resource, listener) {
      const { listeners } = collection(resource);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watch(resource, namespace, fromResourceVersion, watcher) {
      const found = collection(resource);
      if (fromResourceVersion !== undefined) {
        const missed = found.history.since(fromResourceVersion);
        if (!missed) {
          throw gone(
            `too old resource version: ${fromResourceVersion} (${found.history.compactedThrough + 1})`,
          );
        }
        for (const event of missed) {
          if (namespace === undefined || namespaceOf(event.object) === namespace) {
            watcher.deliver(event);
          }
        }
      }
      const key = namespace ?? "";
      let scoped = found.watchers.get(key);
      if (!scoped) {
        scoped = new Set();
        found.watchers.set(key, scoped);
      }
      scoped.add(watcher);
      return () => {
        scoped.delete(watcher);
        if (scoped.size === 0 && found.watchers.get(key) === scoped) found.watchers.delete(key);
      };
    },
    snapshot(resource, namespace, at) {
      const found = collection(resource);
      const newer = at >= resourceVersion ? [] : found.history.since(at);
      if (!newer) return undefined;
      const key = `${resource}/${namespace ?? ""}/${at}`;
      const cached = snapshots.get(key);
      if (cached) return cached;
      const byKey = new Map<string, KubeObject>();
      const keyOf = (object: KubeObject) => `${namespaceOf(object)}/${object.metadata.name}`;
      for (const object of list(resource, namespace)) byKey.set(keyOf(object), object);
      // Undo, newest first, every change made after `at`.
      for (let i = newer.length - 1; i >= 0; i--) {
        const event = newer[i] as StoreEvent;
        if (namespace !== undefined && namespaceOf(event.object) !== namespace) continue;
        if (event.type === "ADDED") byKey.delete(keyOf(event.object));
        else if (event.previous) byKey.set(keyOf(event.previous), event.previous);
      }
      const sorted = [...byKey.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, object]) => object);
      snapshots.set(key, sorted);
      if (snapshots.size > SNAPSHOT_CACHE_SIZE) {
        snapshots.delete(snapshots.keys().next().value as string);
      }
      return sorted;
    },
    history(resource) {
      return collection(resource).history;
    },
    compact() {
      for (const found of collections.values()) found.history.compact(resourceVersion);
      snapshots.clear();
    },
  };
}
