// Node → NodeView: whether the node is going away, and why. Only getReturnRequests asks, so that
// HostFactory can move work off hosts before the cluster takes them.
import type { NodeView } from "../provider/model.ts";

interface NodeLike {
  metadata?: { name?: string };
  spec?: { unschedulable?: boolean; taints?: { key?: string; effect?: string }[] };
  status?: { conditions?: { type?: string; status?: string }[] };
}

/** Taints that announce the node's removal, and who puts them there. */
const REMOVAL_TAINTS: Record<string, string> = {
  ToBeDeletedByClusterAutoscaler: "the cluster autoscaler is removing the node",
  "karpenter.sh/disrupted": "Karpenter is disrupting the node",
  "karpenter.sh/disruption": "Karpenter is disrupting the node",
  "node.kubernetes.io/out-of-service": "the node is out of service",
};

const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";

export function projectNode(raw: unknown): NodeView | undefined {
  const node = raw as NodeLike;
  const name = node?.metadata?.name;
  if (!name) return undefined;
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  let leaving = "";
  for (const taint of node.spec?.taints ?? []) {
    const why = taint.key ? REMOVAL_TAINTS[taint.key] : undefined;
    if (why) leaving = why;
  }
  // The node lifecycle controller mirrors a cordon as a taint; either says the node is cordoned.
  const cordoned =
    node.spec?.unschedulable === true ||
    (node.spec?.taints ?? []).some((taint) => taint.key === UNSCHEDULABLE_TAINT);
  return { name, ready, leaving, cordoned };
}
