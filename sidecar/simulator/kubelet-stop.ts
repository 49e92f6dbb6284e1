import { currentPod, type KubeletContext, podKey, recordKubeletEvent } from "./kubelet-context.ts";
import { condition, setConditions, writePodStatus } from "./kubelet-pod-status.ts";
import type { Pod } from "./object-types.ts";
import { PODS } from "./resources.ts";
import { rfc3339 } from "./store.ts";

/** The exit code of a container killed (SIGKILL) at the end of its grace period. */
const KILLED_EXIT_CODE = 137;

/** The pod's final status once its containers stopped: exit code 0 when they did on SIGTERM. */
function writeStopped(context: KubeletContext, pod: Pod, exitCode: number, at: string) {
  const status = pod.status ?? {};
  const reason = exitCode === 0 ? "PodCompleted" : "PodFailed";
  writePodStatus(context.store, pod, {
    ...status,
    phase: exitCode === 0 ? "Succeeded" : "Failed",
    conditions: setConditions(status, [
      condition("PodReadyToStartContainers", false, at),
      condition("Ready", false, at, reason),
      condition("ContainersReady", false, at, reason),
    ]),
    containerStatuses: (status.containerStatuses ?? []).map((container) => ({
      ...container,
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? "Completed" : "Error",
          startedAt: container.state.running?.startedAt ?? at,
          finishedAt: at,
          ...(container.containerID ? { containerID: container.containerID } : {}),
        },
      },
    })),
  });
}

/** Containers are stopped: the pod's final status, then its removal from the API. */
function stopContainers(context: KubeletContext, key: string, graceful: boolean) {
  const pod = currentPod(context.store, key);
  if (!pod) return;
  const at = rfc3339(context.now());
  const exitCode = graceful ? 0 : KILLED_EXIT_CODE;
  const phase = pod.status?.phase;
  if (phase !== "Succeeded" && phase !== "Failed") writeStopped(context, pod, exitCode, at);
  context.log.record("stopped", `containers stopped (exit code ${exitCode})`, key);
  try {
    context.api.delete(PODS, pod.metadata.namespace as string, pod.metadata.name as string, {
      gracePeriodSeconds: 0,
      preconditions: { uid: pod.metadata.uid as string },
    });
  } catch {
    // Already gone, or replaced by a new pod of the same name: nothing left to remove.
  }
}

/**
 * Plans the containers' stop for a pod being deleted: when they exit on SIGTERM, or when the
 * grace period ends and they are killed.
 */
export function planStop(context: KubeletContext, pod: Pod) {
  const { timeline, stopping, podStopDelayMs } = context;
  const key = podKey(pod);
  timeline.cancel(`start:${key}`);
  // The grace period runs from when the kubelet sees the deletion, as on a real node; a later
  // delete with a shorter grace period cuts it short.
  const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  const planned = stopping.get(key);
  if (timeline.has(`stop:${key}`) && planned !== undefined && planned <= graceMs) return;
  if (planned === undefined) {
    const containers = pod.spec.containers.map((container) => container.name).join(", ");
    recordKubeletEvent(context, pod, "Normal", "Killing", `Stopping container ${containers}`);
  }
  stopping.set(key, graceMs);
  const exitsOnSigterm = podStopDelayMs !== undefined && podStopDelayMs < graceMs;
  timeline.schedule(`stop:${key}`, exitsOnSigterm ? podStopDelayMs : graceMs, () =>
    stopContainers(context, key, exitsOnSigterm),
  );
}
