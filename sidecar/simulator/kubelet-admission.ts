import { type KubeletContext, podKey } from "./kubelet-context.ts";
import { condition, setConditions, writePodStatus } from "./kubelet-pod-status.ts";
import { planStart } from "./kubelet-start.ts";
import type { NodeUsage } from "./node-usage.ts";
import type { Node, Pod, PodStatus } from "./object-types.ts";
import { podRequests } from "./pod-strategy.ts";
import { allocatable } from "./scheduler.ts";
import { rfc3339 } from "./store.ts";

/** Pod admission: the resource a pod bound (bypassing the scheduler) to a node does not fit. */
function admissionFailure(usage: NodeUsage, pod: Pod, node: Node): string | undefined {
  const capacity = allocatable(node);
  const used = usage.of(node.metadata.name as string);
  for (const [resource, requested] of Object.entries(podRequests(pod))) {
    if (requested > 0 && (used[resource] ?? 0) > (capacity[resource] ?? 0)) {
      return resource;
    }
  }
  return undefined;
}

function hostIP(node: Node): string {
  return node.status?.addresses?.find((address) => address.type === "InternalIP")?.address ?? "";
}

/** The pod fails as the kubelet rejects it: OutOf<resource>. */
function reject(context: KubeletContext, pod: Pod, node: Node, resource: string, at: string) {
  const ip = hostIP(node);
  const capacity = allocatable(node)[resource] ?? 0;
  const requested = podRequests(pod)[resource] ?? 0;
  const used = (context.usage.of(node.metadata.name as string)[resource] ?? 0) - requested;
  const message = `Pod was rejected: Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`;
  writePodStatus(context.store, pod, {
    ...pod.status,
    phase: "Failed",
    reason: `OutOf${resource}`,
    message,
    hostIP: ip,
    hostIPs: [{ ip }],
    startTime: at,
  });
  context.log.record("failed", message, podKey(pod));
}

/** Pending on the node, its containers being created; they start after the start delay. */
function accept(context: KubeletContext, pod: Pod, node: Node, at: string) {
  const ip = hostIP(node);
  const status: PodStatus = {
    ...pod.status,
    phase: "Pending",
    hostIP: ip,
    hostIPs: [{ ip }],
    startTime: at,
    conditions: setConditions(pod.status ?? {}, [
      condition("PodReadyToStartContainers", false, at),
      condition("Initialized", true, at),
      condition("Ready", false, at, "ContainersNotReady"),
      condition("ContainersReady", false, at, "ContainersNotReady"),
    ]),
    containerStatuses: pod.spec.containers.map((container) => ({
      name: container.name,
      image: container.image ?? "",
      imageID: "",
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason: "ContainerCreating" } },
      lastState: {},
    })),
  };
  writePodStatus(context.store, pod, status);
  planStart(context, podKey(pod));
}

/** The kubelet's first look at a pod bound to its node: admits it, or rejects it. */
export function acknowledge(context: KubeletContext, pod: Pod, node: Node) {
  const at = rfc3339(context.now());
  const rejected = admissionFailure(context.usage, pod, node);
  if (rejected) reject(context, pod, node, rejected, at);
  else accept(context, pod, node, at);
}
