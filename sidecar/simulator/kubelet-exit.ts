import { type KubeletContext, podKey } from "./kubelet-context.ts";
import { condition, setConditions, writePodStatus } from "./kubelet-pod-status.ts";
import { planStart } from "./kubelet-start.ts";
import type { ContainerStatus, Pod } from "./object-types.ts";
import { PODS } from "./resources.ts";
import { rfc3339 } from "./store.ts";

export interface ContainerExit {
  /** Default 1. */
  exitCode?: number;
  /** Default "Error" (or "Completed" for exit code 0). */
  reason?: string;
  message?: string;
  /** Which container; default the first. */
  container?: string;
}

/** The container statuses once `target` exited: waiting in CrashLoopBackOff if it restarts. */
function statusesAfterExit(
  pod: Pod,
  exit: ContainerExit,
  target: string | undefined,
  restarts: boolean,
  at: string,
): ContainerStatus[] {
  const exitCode = exit.exitCode ?? 1;
  const terminated = (status: ContainerStatus) => ({
    exitCode,
    reason: exit.reason ?? (exitCode === 0 ? "Completed" : "Error"),
    ...(exit.message ? { message: exit.message } : {}),
    startedAt: status.state.running?.startedAt ?? at,
    finishedAt: at,
    ...(status.containerID ? { containerID: status.containerID } : {}),
  });
  const { namespace, name, uid } = pod.metadata;
  return (pod.status?.containerStatuses ?? []).map((container) => {
    if (container.name !== target) return container;
    return restarts
      ? {
          ...container,
          ready: false,
          started: false,
          restartCount: container.restartCount + 1,
          lastState: { terminated: terminated(container) },
          state: {
            waiting: {
              reason: "CrashLoopBackOff",
              message: `back-off 10s restarting failed container=${container.name} pod=${name}_${namespace}(${uid})`,
            },
          },
        }
      : {
          ...container,
          ready: false,
          started: false,
          state: { terminated: terminated(container) },
        };
  });
}

/** A container of the pod exits with `exit.exitCode`; the pod's restartPolicy decides what follows. */
export function exitContainer(
  context: KubeletContext,
  namespace: string,
  name: string,
  exit: ContainerExit,
) {
  const { store, timeline, now } = context;
  const pod = store.get(PODS.name, namespace, name) as Pod | undefined;
  if (!pod) throw new Error(`pod ${namespace}/${name} does not exist`);
  if (!pod.spec.nodeName || !pod.status?.startTime) {
    throw new Error(`pod ${namespace}/${name} is not running on a node yet`);
  }
  const key = podKey(pod);
  const exitCode = exit.exitCode ?? 1;
  const at = rfc3339(now());
  const target = exit.container ?? pod.spec.containers[0]?.name;
  const policy = pod.spec.restartPolicy ?? "Always";
  const restarts = policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
  const containerStatuses = statusesAfterExit(pod, exit, target, restarts, at);
  const finished = !restarts && containerStatuses.every((container) => container.state.terminated);
  const failed = containerStatuses.some(
    (container) => (container.state.terminated?.exitCode ?? 0) !== 0,
  );
  const reason = finished ? (failed ? "PodFailed" : "PodCompleted") : "ContainersNotReady";
  const status = pod.status;
  writePodStatus(store, pod, {
    ...status,
    ...(finished ? { phase: failed ? "Failed" : "Succeeded" } : {}),
    conditions: setConditions(status, [
      condition("Ready", false, at, reason),
      condition("ContainersReady", false, at, reason),
    ]),
    containerStatuses,
  });
  if (restarts) planStart(context, key);
  else timeline.cancel(`start:${key}`);
  context.log.record(
    exitCode === 0 ? "completed" : "failed",
    `container ${target} exited with code ${exitCode}${restarts ? ", restarting" : ""}`,
    key,
  );
}
