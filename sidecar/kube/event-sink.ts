// Kubernetes Events on request records, so `kubectl describe configmap hostfactory-req-…` (and
// any event exporter) shows what happened to a request: completion, and machines that failed.
import type { CoreV1Api, CoreV1Event } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { recordName } from "../provider/naming.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export const EVENT_SOURCE = "hostfactory-k8s";

export type EventType = "Normal" | "Warning";

export interface EventSink {
  /** Fire and forget: an Event that cannot be written is logged, never retried. */
  emit(requestId: string, type: EventType, reason: string, message: string): void;
}

export function createEventSink(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
  logger: Logger,
): EventSink {
  return {
    emit(requestId, type, reason, message) {
      const name = recordName(requestId);
      const now = new Date();
      const body = {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: "v1", kind: "ConfigMap", name, namespace },
        type,
        reason,
        message,
        source: { component: EVENT_SOURCE },
        reportingComponent: EVENT_SOURCE,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as CoreV1Event;
      limiter
        .schedule(() => api.createNamespacedEvent({ namespace, body }), undefined, {
          verb: "create",
          resource: "events",
        })
        .catch((error: Error) => {
          logger.debug({ requestId, reason, err: error.message }, "event not recorded");
        });
    },
  };
}
