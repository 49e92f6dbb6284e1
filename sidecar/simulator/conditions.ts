import type { Condition, Pod } from "./object-types.ts";
import { thaw } from "./store-event.ts";

/**
 * Conditions by type, as the kubelet and controllers maintain them: a condition whose status
 * does not change keeps its lastTransitionTime.
 */
export function upsertCondition(
  conditions: readonly Condition[] | undefined,
  next: Condition,
): Condition[] {
  const result = [...(conditions ?? [])];
  const index = result.findIndex((condition) => condition.type === next.type);
  if (index < 0) {
    result.push(next);
  } else {
    const previous = result[index] as Condition;
    result[index] =
      previous.status === next.status && previous.lastTransitionTime
        ? { ...next, lastTransitionTime: previous.lastTransitionTime }
        : next;
  }
  return result;
}

/** A copy of the pod with `next` upserted into its status conditions. */
export function podWithCondition(pod: Pod, next: Condition): Pod {
  const copy = thaw(pod);
  copy.status = { ...copy.status, conditions: upsertCondition(copy.status?.conditions, next) };
  return copy;
}
