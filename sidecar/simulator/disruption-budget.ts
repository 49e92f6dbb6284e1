// PodDisruptionBudgets as the eviction subresource applies them (pkg/registry/core/pod/storage/
// eviction.go): a pod that one budget selects is evicted only while the budget allows a
// disruption, else 429 with the API server's Status. There is no disruption controller: what it
// would write in the budget's status (healthy pods, disruptions allowed) is worked out from the
// pods at the moment of the eviction.
import type { KubeObject, Pod } from "./object-types.ts";
import { POD_DISRUPTION_BUDGETS, PODS } from "./resources.ts";
import { failure, StatusError } from "./status-error.ts";
import type { Store } from "./store.ts";

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}

type IntOrPercent = number | string;

export interface PodDisruptionBudget extends KubeObject {
  spec?: {
    selector?: Selector | null;
    minAvailable?: IntOrPercent;
    maxUnavailable?: IntOrPercent;
    unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
  };
}

/** metav1.LabelSelector: a missing selector selects nothing, an empty one everything. */
function selects(selector: Selector | null | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case "In":
        return has && values.includes(labels[key] as string);
      case "NotIn":
        return !has || !values.includes(labels[key] as string);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
}

const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/** A percentage of `total`, rounded up, as the disruption controller scales it. */
function scaled(value: IntOrPercent, total: number): number {
  if (typeof value === "number") return value;
  return Math.ceil((Number.parseInt(value, 10) * total) / 100);
}

/** What the disruption controller would have written in the budget's status. */
function budgetStatus(budget: PodDisruptionBudget, pods: Pod[]) {
  const spec = budget.spec ?? {};
  // Only an integer minAvailable counts bare pods; otherwise the expected count is the pods'
  // controllers' scale, which a pod without a controller adds nothing to.
  const controlled = pods.filter((pod) =>
    (pod.metadata.ownerReferences ?? []).some((owner) => owner.controller === true),
  ).length;
  let expected = controlled;
  let desiredHealthy = 0;
  if (spec.maxUnavailable !== undefined) {
    desiredHealthy = Math.max(0, expected - scaled(spec.maxUnavailable, expected));
  } else if (typeof spec.minAvailable === "number") {
    expected = pods.length;
    desiredHealthy = spec.minAvailable;
  } else if (spec.minAvailable !== undefined) {
    desiredHealthy = scaled(spec.minAvailable, expected);
  }
  const currentHealthy = pods.filter(
    (pod) => !pod.metadata.deletionTimestamp && isReady(pod),
  ).length;
  const allowed = expected <= 0 ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  return { currentHealthy, desiredHealthy, allowed };
}

/**
 * Throws the API server's refusal when a budget holds the pod's eviction back; returns when the
 * eviction may proceed. A pod that is not running (Pending, finished) or already being deleted is
 * no disruption, so no budget applies.
 */
export function checkDisruptionBudgets(store: Store, pod: Pod): void {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed" || phase === "Pending") return;
  if (pod.metadata.deletionTimestamp) return;
  const namespace = pod.metadata.namespace ?? "";
  const labels = pod.metadata.labels ?? {};
  const budgets = (
    store.list(POD_DISRUPTION_BUDGETS.name, namespace) as PodDisruptionBudget[]
  ).filter((budget) => selects(budget.spec?.selector, labels));
  if (budgets.length === 0) return;
  if (budgets.length > 1) {
    // The API server answers this one with a bare Status: no reason.
    throw new StatusError({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message:
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      code: 500,
    });
  }
  const [budget] = budgets as [PodDisruptionBudget];
  const pods = (store.list(PODS.name, namespace) as Pod[]).filter((p) =>
    selects(budget.spec?.selector, p.metadata.labels ?? {}),
  );
  const { currentHealthy, desiredHealthy, allowed } = budgetStatus(budget, pods);
  if (!isReady(pod)) {
    // An unready pod is not what the budget keeps healthy, when the budget is met anyway.
    if (budget.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return;
    if (currentHealthy >= desiredHealthy && desiredHealthy > 0) return;
  }
  if (allowed > 0) return;
  const name = budget.metadata.name;
  const message =
    currentHealthy <= desiredHealthy
      ? `The disruption budget ${name} needs ${desiredHealthy} healthy pods and has ${currentHealthy} currently`
      : `The disruption budget ${name} does not allow evicting pods currently`;
  throw new StatusError(
    failure(
      429,
      "TooManyRequests",
      "Cannot evict pod as it would violate the pod's disruption budget.",
      {
        causes: [{ reason: "DisruptionBudget", message }],
      },
    ),
  );
}
