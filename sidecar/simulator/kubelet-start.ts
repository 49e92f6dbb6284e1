import { type StartFailure, startFailure } from "./container-start.ts";
import {
  currentPod,
  type KubeletContext,
  nodeOf,
  podKey,
  recordKubeletEvent,
} from "./kubelet-context.ts";
import { condition, setConditions, writePodStatus } from "./kubelet-pod-status.ts";
import { nodeIsReady } from "./node-ready.ts";
import type { ContainerStatus, Pod } from "./object-types.ts";
import type { Random } from "./random.ts";
import { CONFIGMAPS } from "./resources.ts";
import { rfc3339 } from "./store.ts";

/** How long ErrImagePull shows before the kubelet's next sync reports it backing off. The
 * simulated kubelet does not pull again: a `.invalid` registry never resolves. */
const IMAGE_PULL_BACKOFF_AFTER_MS = 1_000;

function containerId(random: Random): string {
  return `containerd://${random.hex(64)}`;
}

/** Plans the pod's containers to start after the start delay, give or take the jitter. */
export function planStart(context: KubeletContext, key: string) {
  const { podStartDelayMs, podStartJitterMs: jitter, random } = context;
  const delay = podStartDelayMs + (jitter > 0 ? (random.next() * 2 - 1) * jitter : 0);
  context.timeline.schedule(`start:${key}`, delay, () => startContainers(context, key));
}

/** The container waits for `failure`; the others wait to be created. */
function block(
  context: KubeletContext,
  pod: Pod,
  failure: StartFailure,
  reason: string,
  message: string,
) {
  context.blocked.set(podKey(pod), failure.configMap ?? "");
  const status = pod.status ?? {};
  writePodStatus(context.store, pod, {
    ...status,
    containerStatuses: (status.containerStatuses ?? []).map((container) =>
      container.name === failure.container
        ? { ...container, state: { waiting: { reason, message } } }
        : container,
    ),
  });
}

/** Keeps the pod from starting, as a kubelet reports it, and tells why in an Event. */
function refuseStart(context: KubeletContext, pod: Pod, failure: StartFailure) {
  const key = podKey(pod);
  block(context, pod, failure, failure.reason, failure.message);
  const image = pod.spec.containers.find((c) => c.name === failure.container)?.image ?? "";
  const event =
    failure.reason === "ErrImagePull"
      ? `Failed to pull image "${image}": ${failure.message}`
      : `Error: ${failure.message}`;
  recordKubeletEvent(context, pod, "Warning", "Failed", event);
  context.log.record("failed", `container ${failure.container}: ${failure.reason}`, key);
  if (failure.reason !== "ErrImagePull") return;
  context.timeline.schedule(`backoff:${key}`, IMAGE_PULL_BACKOFF_AFTER_MS, () => {
    const latest = currentPod(context.store, key);
    if (!latest || latest.metadata.deletionTimestamp || !context.blocked.has(key)) return;
    block(context, latest, failure, "ImagePullBackOff", `Back-off pulling image "${image}"`);
  });
}

/** Every container running, keeping the restart counts and last states seen so far. */
function runningStatuses(random: Random, pod: Pod, at: string): ContainerStatus[] {
  const previous = new Map(
    (pod.status?.containerStatuses ?? []).map((status) => [status.name, status]),
  );
  return pod.spec.containers.map((container) => {
    const before = previous.get(container.name);
    return {
      name: container.name,
      image: container.image ?? "",
      imageID: `${container.image ?? ""}@sha256:${random.hex(64)}`,
      containerID: containerId(random),
      ready: true,
      started: true,
      restartCount: before?.restartCount ?? 0,
      state: { running: { startedAt: at } },
      lastState: before?.lastState ?? {},
    };
  });
}

/** The pod becomes Running and Ready with an IP, unless a container cannot start yet. */
function startContainers(context: KubeletContext, key: string) {
  const { store, random, now } = context;
  const pod = currentPod(store, key);
  if (!pod || pod.metadata.deletionTimestamp) return;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return;
  const node = nodeOf(store, pod);
  if (!node || !nodeIsReady(node)) return;
  const namespace = pod.metadata.namespace as string;
  const failure = startFailure(pod, (name) => store.get(CONFIGMAPS.name, namespace, name));
  if (failure) {
    refuseStart(context, pod, failure);
    return;
  }
  context.blocked.delete(key);
  const at = rfc3339(now());
  const ip = context.ips.allocate(key, node);
  const containerStatuses = runningStatuses(random, pod, at);
  const status = pod.status ?? {};
  const stored = writePodStatus(store, pod, {
    ...status,
    phase: "Running",
    podIP: ip,
    podIPs: [{ ip }],
    startTime: status.startTime ?? at,
    conditions: setConditions(status, [
      condition("PodReadyToStartContainers", true, at),
      condition("Initialized", true, at),
      condition("Ready", true, at),
      condition("ContainersReady", true, at),
    ]),
    containerStatuses,
  });
  const names = pod.spec.containers.map((container) => container.name).join(", ");
  recordKubeletEvent(context, stored, "Normal", "Started", `Started container ${names}`);
  context.log.record("started", `running on ${pod.spec.nodeName} with IP ${ip}`, key);
}
