// The reconciler's only way to change pods: create and delete, each through the rate limiter.
// A small interface, so that the reconciler can be tested against a fake that answers as a
// broken or lagging API server would.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { RateLimiter } from "./rate-limiter.ts";

export interface PodWriter {
  /** Creates `pod`; `signal` drops the call while it is still queued. Rejects with the API error. */
  create(pod: object, signal: AbortSignal): Promise<void>;
  /** Deletes the pod named `name`; as `create`. */
  delete(name: string, signal: AbortSignal): Promise<void>;
  /**
   * The pod kube-scheduler preempted the pod `name` for, read from the Preempted Event it records
   * on its victim (the victim's DisruptionTarget condition names only the scheduler): "namespace/
   * name" when the Event relates the preemptor, else the Event's own words ("pod <uid> on node
   * <node>", as kube-scheduler 1.37 writes them); undefined when no such Event is found. Absent
   * in fakes that never preempt.
   */
  preemptor?(name: string, signal: AbortSignal): Promise<string | undefined>;
}

/** The reason of the Event kube-scheduler records on each pod it preempts. */
const PREEMPTED_EVENT_REASON = "Preempted";
/** Its message: "Preempted by pod <uid> on node <node>". */
const PREEMPTED_BY = /^Preempted by (.+?)\.?$/;

export function createPodWriter(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
): PodWriter {
  return {
    async create(pod, signal) {
      const body = pod as V1Pod;
      await limiter.schedule(() => api.createNamespacedPod({ namespace, body }), signal, {
        verb: "create",
        resource: "pods",
      });
    },
    async delete(name, signal) {
      await limiter.schedule(() => api.deleteNamespacedPod({ name, namespace }), signal, {
        verb: "delete",
        resource: "pods",
      });
    },
    async preemptor(name, signal) {
      const fieldSelector = [
        "involvedObject.kind=Pod",
        `involvedObject.name=${name}`,
        `reason=${PREEMPTED_EVENT_REASON}`,
      ].join(",");
      const events = await limiter.schedule(
        () => api.listNamespacedEvent({ namespace, fieldSelector }),
        signal,
        { verb: "list", resource: "events" },
      );
      for (const event of events.items) {
        const related = event.related;
        if (related?.name) {
          return related.namespace ? `${related.namespace}/${related.name}` : related.name;
        }
        const said = PREEMPTED_BY.exec(event.message?.trim() ?? "")?.[1];
        if (said) return said;
      }
      return undefined;
    },
  };
}
