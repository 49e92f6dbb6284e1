import { upsertCondition } from "./conditions.ts";
import type { Condition, Pod, PodStatus } from "./object-types.ts";
import { PODS } from "./resources.ts";
import type { Store } from "./store.ts";
import { thaw } from "./store-event.ts";

export function condition(type: string, status: boolean, at: string, reason?: string): Condition {
  return {
    type,
    status: status ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
  };
}

export function setConditions(status: PodStatus, updates: Condition[]): Condition[] {
  let conditions = status.conditions ?? [];
  for (const update of updates) conditions = upsertCondition(conditions, update);
  return conditions;
}

/** Stores the pod with `status`, as observed at the pod's current generation. */
export function writePodStatus(store: Store, pod: Pod, status: PodStatus): Pod {
  const next = thaw(pod);
  next.status = { ...status, observedGeneration: pod.metadata.generation };
  return store.put(PODS.name, next) as Pod;
}
