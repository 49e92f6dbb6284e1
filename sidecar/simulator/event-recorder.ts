import type { KubeObject } from "./object-types.ts";
import type { Random } from "./random.ts";
import { EVENTS, NAMESPACES } from "./resources.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";

/**
 * Writes core/v1 Events the way the scheduler and kubelet do ("Scheduled", "FailedScheduling",
 * "Started", "Killing", ...), folding repeats of the same event into a count, as client-go's
 * event correlator does.
 */
export interface EventRecorder {
  record(
    involved: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    source: { component: string; host?: string },
  ): void;
}

/** Distinct recent events remembered for folding repeats. */
const CORRELATION_CACHE_SIZE = 4096;

export function createEventRecorder(store: Store, random: Random, now: () => Date): EventRecorder {
  const recent = new Map<string, string>();
  return {
    record(involved, type, reason, message, source) {
      const namespace = involved.metadata.namespace || "default";
      const owner = store.get(NAMESPACES.name, "", namespace);
      if (!owner || owner.metadata.deletionTimestamp) return;
      const timestamp = rfc3339(now());
      const key = `${involved.metadata.uid}/${reason}/${message}/${source.component}`;
      const existingName = recent.get(key);
      const existing = existingName ? store.get(EVENTS.name, namespace, existingName) : undefined;
      if (existing) {
        const next = thaw(existing);
        next.count = ((existing.count as number | undefined) ?? 1) + 1;
        next.lastTimestamp = timestamp;
        store.put(EVENTS.name, next);
        return;
      }
      const name = `${involved.metadata.name}.${random.hex(16)}`;
      store.put(EVENTS.name, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace },
        involvedObject: {
          kind: involved.kind,
          namespace: involved.metadata.namespace,
          name: involved.metadata.name,
          uid: involved.metadata.uid,
          apiVersion: involved.apiVersion,
          resourceVersion: involved.metadata.resourceVersion,
        },
        reason,
        message,
        source,
        firstTimestamp: timestamp,
        lastTimestamp: timestamp,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: source.component,
        reportingInstance: source.host ?? "",
      });
      recent.set(key, name);
      if (recent.size > CORRELATION_CACHE_SIZE) recent.delete(recent.keys().next().value as string);
    },
  };
}
