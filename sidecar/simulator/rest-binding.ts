import { podWithCondition } from "./conditions.ts";
import type { Pod } from "./object-types.ts";
import { PODS } from "./resources.ts";
import { getObject, isObject } from "./rest-object.ts";
import { conflict, invalid } from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";

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
  store.put(PODS.name, boundPod(pod, nodeName, now));
}

/** The pod assigned to the node, as a binding (the scheduler's or a client's) leaves it. */
export function boundPod(pod: Pod, nodeName: string, now: () => Date): Pod {
  const bound = podWithCondition(pod, {
    type: "PodScheduled",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: rfc3339(now()),
  });
  bound.spec.nodeName = nodeName;
  return bound;
}
