import type { KubeObject } from "./object-types.ts";

export type StoreEventType = "ADDED" | "MODIFIED" | "DELETED";

/**
 * One change in the store. `object` is the new state (for DELETED: the last state, carrying the
 * deletion's resourceVersion); `previous` the state before, so that selector-filtered watchers can
 * tell an object that stopped matching from one that never did.
 */
export interface StoreEvent {
  readonly type: StoreEventType;
  readonly resource: string;
  readonly resourceVersion: number;
  readonly object: KubeObject;
  readonly previous: KubeObject | undefined;
  /** Wire lines already rendered for this event, by rendering key; filled by watch connections. */
  readonly renderings: Map<string, Buffer>;
}

const jsonCache = new WeakMap<object, string>();

/**
 * The JSON text of a stored object, computed once: stored objects are frozen, so however many
 * responses and watchers include the object, it is serialised a single time.
 */
export function toJson(object: KubeObject): string {
  let json = jsonCache.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    jsonCache.set(object, json);
  }
  return json;
}

/** Freezes an object and everything reachable from it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A mutable deep copy of a stored (frozen) object. */
export function thaw<T>(value: T): T {
  return structuredClone(value);
}
