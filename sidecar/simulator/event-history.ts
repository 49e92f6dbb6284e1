import type { StoreEvent } from "./store-event.ts";

/**
 * The retained window of one resource's events, like the API server's watch cache: watches and
 * consistent list pages resume from it, and a resourceVersion older than the window is answered
 * with 410 Expired.
 */
export interface EventHistory {
  /** Events with a resourceVersion at or below this are gone; resuming from below it is too late. */
  readonly compactedThrough: number;
  push(event: StoreEvent): void;
  /** Events after `resourceVersion`, oldest first; undefined when some of them were dropped. */
  since(resourceVersion: number): StoreEvent[] | undefined;
  /** Forgets every event up to and including `resourceVersion`. */
  compact(resourceVersion: number): void;
}

export function createEventHistory(capacity: number): EventHistory {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`historyWindow must be a positive integer, got ${capacity}`);
  }
  const ring: (StoreEvent | undefined)[] = new Array(capacity);
  let start = 0;
  let size = 0;
  let compactedThrough = 0;
  const at = (index: number) => ring[(start + index) % capacity] as StoreEvent;

  const dropOldest = () => {
    compactedThrough = at(0).resourceVersion;
    ring[start] = undefined;
    start = (start + 1) % capacity;
    size--;
  };

  return {
    get compactedThrough() {
      return compactedThrough;
    },
    push(event) {
      if (size === capacity) dropOldest();
      ring[(start + size) % capacity] = event;
      size++;
    },
    since(resourceVersion) {
      if (resourceVersion < compactedThrough) return undefined;
      let low = 0;
      let high = size;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (at(mid).resourceVersion <= resourceVersion) low = mid + 1;
        else high = mid;
      }
      const events: StoreEvent[] = [];
      for (let i = low; i < size; i++) events.push(at(i));
      return events;
    },
    compact(resourceVersion) {
      while (size > 0 && at(0).resourceVersion <= resourceVersion) dropOldest();
      compactedThrough = Math.max(compactedThrough, resourceVersion);
    },
  };
}
