import { upsertCondition } from "./conditions.ts";
import type { Pod } from "./object-types.ts";
import { PODS } from "./resources.ts";
import { getObject, isObject } from "./rest-object.ts";
import { conflict, invalid } from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";

/** The pods/binding subresource: assigns a pending pod to a node. */
export function bindPod(
  store: Store,
  now: () => Date,
  namespace: string,
  name: string,
  body: unknown,
): void {
  const pod = getObject(store, PODS, namespace, name) as Pod;
  const target = isObject(body) && isObject(body.target) ? body.target : {};
  const nodeName = typeof target.name === "string" ? target.name : "";
  if (!nodeName)
    throw invalid("Binding", name, [
      { reason: "FieldValueRequired", field: "target.name", message: "Required value" },
    ]);
  if (pod.spec.nodeName) {
    throw conflict(
      PODS.qualified,
      name,
      `pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
    );
  }
  if (pod.metadata.deletionTimestamp) {
    throw conflict(
      PODS.qualified,
      name,
      `pod ${name} is being deleted, cannot be assigned to a host`,
    );
  }
  const bound = thaw(pod);
  bound.spec.nodeName = nodeName;
  bound.status = {
    ...bound.status,
    conditions: upsertCondition(bound.status?.conditions, {
      type: "PodScheduled",
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: rfc3339(now()),
    }),
  };
  store.put(PODS.name, bound);
}
