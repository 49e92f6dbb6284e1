import { podWithCondition } from "./conditions.ts";
import { checkDisruptionBudgets } from "./disruption-budget.ts";
import type { Pod } from "./object-types.ts";
import { PODS } from "./resources.ts";
import { type DeleteOptions, deleteObject } from "./rest-delete.ts";
import { getObject, isObject } from "./rest-object.ts";
import { badRequest } from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";

/** Marks a running pod with the DisruptionTarget condition the Eviction API sets. */
function markEvicted(store: Store, now: () => Date, pod: Pod) {
  const marked = podWithCondition(pod, {
    type: "DisruptionTarget",
    status: "True",
    reason: "EvictionByEvictionAPI",
    message: "Eviction API: evicting",
    lastProbeTime: null,
    lastTransitionTime: rfc3339(now()),
  });
  store.put(PODS.name, marked);
}

/** The pods/eviction subresource: refused (429) while a PodDisruptionBudget allows no
 * disruption of the pod; else marks the pod with DisruptionTarget and deletes it. */
export function evictPod(
  store: Store,
  now: () => Date,
  namespace: string,
  name: string,
  body: unknown,
): void {
  const pod = getObject(store, PODS, namespace, name) as Pod;
  const eviction = isObject(body) ? body : {};
  const deleteOptions = (
    isObject(eviction.deleteOptions) ? eviction.deleteOptions : {}
  ) as DeleteOptions;
  if (isObject(eviction.metadata) && eviction.metadata.name && eviction.metadata.name !== name) {
    throw badRequest(`name in URL does not match name in Eviction object`);
  }
  checkDisruptionBudgets(store, pod);
  if (
    !pod.metadata.deletionTimestamp &&
    pod.status?.phase !== "Succeeded" &&
    pod.status?.phase !== "Failed"
  ) {
    markEvicted(store, now, pod);
  }
  deleteObject(store, now, PODS, namespace, name, deleteOptions);
}
