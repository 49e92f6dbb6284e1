import type { Condition } from "./object-types.ts";

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
