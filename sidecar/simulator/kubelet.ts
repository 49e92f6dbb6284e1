import { type StartFailure, startFailure } from "./container-start.ts";
import type { EventLog } from "./event-log.ts";
import type { EventRecorder } from "./event-recorder.ts";
import type { NodeUsage } from "./node-usage.ts";
import type { Condition, ContainerStatus, Node, Pod, PodStatus } from "./object-types.ts";
import { podRequests } from "./pod-strategy.ts";
import type { Random } from "./random.ts";
import { CONFIGMAPS, NODES, PODS } from "./resources.ts";
import { type RestApi, upsertCondition } from "./rest-api.ts";
import { allocatable } from "./scheduler.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";
import type { Timeline } from "./timeline.ts";

/**
 * The kubelets of every simulated node: a bound pod is acknowledged (Pending, ContainerCreating,
 * hostIP), then Running and Ready with a pod IP after the start delay; a deleted pod stops and is
 * removed after its grace period; a container can be made to exit. A container whose image is
 * from a `.invalid` registry, or whose env names a missing Secret or ConfigMap, is kept waiting
 * (ErrImagePull then ImagePullBackOff, CreateContainerConfigError) instead; a ConfigMap created
 * later lets it start. A node that is not Ready has no working kubelet: its pods are left as they
 * are until it comes back.
 */
export interface Kubelets {
  /** A container of the pod exits with `exitCode`; the pod's restartPolicy decides what follows. */
  exitContainer(namespace: string, name: string, exit: ContainerExit): void;
  /** Picks up the pods of a node whose kubelet is back. */
  resync(node: string): void;
}

export interface ContainerExit {
  /** Default 1. */
  exitCode?: number;
  /** Default "Error" (or "Completed" for exit code 0). */
  reason?: string;
  message?: string;
  /** Which container; default the first. */
  container?: string;
}

export interface KubeletOptions {
  store: Store;
  api: RestApi;
  usage: NodeUsage;
  timeline: Timeline;
  recorder: EventRecorder | undefined;
  log: EventLog;
  random: Random;
  now: () => Date;
  podStartDelayMs: number;
  podStartJitterMs: number;
  /** How long containers take to exit on SIGTERM; undefined: they ignore it and are killed. */
  podStopDelayMs: number | undefined;
}

const KUBELET = "kubelet";
const KILLED_EXIT_CODE = 137;
/** How long ErrImagePull shows before the kubelet's next sync reports it backing off. The
 * simulated kubelet does not pull again: a `.invalid` registry never resolves. */
const IMAGE_PULL_BACKOFF_AFTER_MS = 1_000;

function containerId(random: Random): string {
  return `containerd://${random.hex(64)}`;
}

export function nodeIsReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

function condition(type: string, status: boolean, at: string, reason?: string): Condition {
  return {
    type,
    status: status ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
  };
}

function setConditions(status: PodStatus, updates: Condition[]): Condition[] {
  let conditions = status.conditions ?? [];
  for (const update of updates) conditions = upsertCondition(conditions, update);
  return conditions;
}

export function createKubelets(options: KubeletOptions): Kubelets {
  const { store, api, usage, timeline, recorder, log, random, now } = options;
  /** Per node: the next free host number in its /16 and the ones given back. */
  const pools = new Map<string, { next: number; free: number[] }>();
  const podIPs = new Map<string, { node: string; host: number }>();
  /** Pods whose containers are being stopped, with the grace period planned (ms). */
  const stopping = new Map<string, number>();
  /** Pods kept from starting (see startFailure), with the ConfigMap whose creation or change
   * makes the kubelet try again ("" for a pod no ConfigMap can help). */
  const blocked = new Map<string, string>();

  const keyOf = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;
  const nodeOf = (pod: Pod) =>
    store.get(NODES.name, "", pod.spec.nodeName ?? "") as Node | undefined;
  const current = (key: string) => {
    const slash = key.indexOf("/");
    return store.get(PODS.name, key.slice(0, slash), key.slice(slash + 1)) as Pod | undefined;
  };

  const cidrBase = (node: Node) => {
    const match = /^(\d+)\.(\d+)\./.exec(node.spec?.podCIDR ?? "");
    return match ? `${match[1]}.${match[2]}` : "10.0";
  };

  const allocateIP = (pod: Pod, node: Node): string => {
    const key = keyOf(pod);
    const nodeName = node.metadata.name as string;
    let held = podIPs.get(key);
    if (!held || held.node !== nodeName) {
      let pool = pools.get(nodeName);
      if (!pool) {
        pool = { next: 2, free: [] };
        pools.set(nodeName, pool);
      }
      const host = pool.free.pop() ?? pool.next++;
      held = { node: nodeName, host };
      podIPs.set(key, held);
    }
    return `${cidrBase(node)}.${held.host >> 8}.${held.host & 255}`;
  };

  const releaseIP = (key: string) => {
    const held = podIPs.get(key);
    if (!held) return;
    podIPs.delete(key);
    pools.get(held.node)?.free.push(held.host);
  };

  const hostIP = (node: Node) =>
    node.status?.addresses?.find((address) => address.type === "InternalIP")?.address ?? "";

  const write = (pod: Pod, status: PodStatus): Pod => {
    const next = thaw(pod);
    next.status = { ...status, observedGeneration: pod.metadata.generation };
    return store.put(PODS.name, next) as Pod;
  };

  /** Pod admission: refuse a pod bound (bypassing the scheduler) to a node it does not fit. */
  const admissionFailure = (pod: Pod, node: Node): string | undefined => {
    const capacity = allocatable(node);
    const used = usage.of(node.metadata.name as string);
    for (const [resource, requested] of Object.entries(podRequests(pod))) {
      if (requested > 0 && (used[resource] ?? 0) > (capacity[resource] ?? 0)) {
        return resource;
      }
    }
    return undefined;
  };

  const acknowledge = (pod: Pod, node: Node) => {
    const at = rfc3339(now());
    const ip = hostIP(node);
    const rejected = admissionFailure(pod, node);
    if (rejected) {
      const capacity = allocatable(node)[rejected] ?? 0;
      const requested = podRequests(pod)[rejected] ?? 0;
      const used = (usage.of(node.metadata.name as string)[rejected] ?? 0) - requested;
      const message = `Pod was rejected: Node didn't have enough resource: ${rejected}, requested: ${requested}, used: ${used}, capacity: ${capacity}`;
      write(pod, {
        ...pod.status,
        phase: "Failed",
        reason: `OutOf${rejected}`,
        message,
        hostIP: ip,
        hostIPs: [{ ip }],
        startTime: at,
      });
      log.record("failed", message, keyOf(pod));
      return;
    }
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
    write(pod, status);
    planStart(keyOf(pod));
  };

  const planStart = (key: string) => {
    const jitter = options.podStartJitterMs;
    const delay = options.podStartDelayMs + (jitter > 0 ? (random.next() * 2 - 1) * jitter : 0);
    timeline.schedule(`start:${key}`, delay, () => start(key));
  };

  /** The container waits for `failure`; the others wait to be created. */
  const block = (pod: Pod, failure: StartFailure, reason: string, message: string) => {
    blocked.set(keyOf(pod), failure.configMap ?? "");
    const status = pod.status ?? {};
    write(pod, {
      ...status,
      containerStatuses: (status.containerStatuses ?? []).map((container) =>
        container.name === failure.container
          ? { ...container, state: { waiting: { reason, message } } }
          : container,
      ),
    });
  };

  /** Keeps the pod from starting, as a kubelet reports it, and tells why in an Event. */
  const refuseStart = (pod: Pod, failure: StartFailure) => {
    const key = keyOf(pod);
    block(pod, failure, failure.reason, failure.message);
    const image = pod.spec.containers.find((c) => c.name === failure.container)?.image ?? "";
    const event =
      failure.reason === "ErrImagePull"
        ? `Failed to pull image "${image}": ${failure.message}`
        : `Error: ${failure.message}`;
    recorder?.record(pod, "Warning", "Failed", event, {
      component: KUBELET,
      host: pod.spec.nodeName,
    });
    log.record("failed", `container ${failure.container}: ${failure.reason}`, key);
    if (failure.reason !== "ErrImagePull") return;
    timeline.schedule(`backoff:${key}`, IMAGE_PULL_BACKOFF_AFTER_MS, () => {
      const latest = current(key);
      if (!latest || latest.metadata.deletionTimestamp || !blocked.has(key)) return;
      block(latest, failure, "ImagePullBackOff", `Back-off pulling image "${image}"`);
    });
  };

  const start = (key: string) => {
    const pod = current(key);
    if (!pod || pod.metadata.deletionTimestamp) return;
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") return;
    const node = nodeOf(pod);
    if (!node || !nodeIsReady(node)) return;
    const namespace = pod.metadata.namespace as string;
    const failure = startFailure(pod, (name) => store.get(CONFIGMAPS.name, namespace, name));
    if (failure) {
      refuseStart(pod, failure);
      return;
    }
    blocked.delete(key);
    const at = rfc3339(now());
    const ip = allocateIP(pod, node);
    const previous = new Map(
      (pod.status?.containerStatuses ?? []).map((status) => [status.name, status]),
    );
    const containerStatuses: ContainerStatus[] = pod.spec.containers.map((container) => {
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
    const status = pod.status ?? {};
    const stored = write(pod, {
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
    recorder?.record(stored, "Normal", "Started", `Started container ${names}`, {
      component: KUBELET,
      host: pod.spec.nodeName,
    });
    log.record("started", `running on ${pod.spec.nodeName} with IP ${ip}`, key);
  };

  /** Containers are stopped: the pod's final status, then its removal from the API. */
  const stop = (key: string, graceful: boolean) => {
    const pod = current(key);
    if (!pod) return;
    const at = rfc3339(now());
    const exitCode = graceful ? 0 : KILLED_EXIT_CODE;
    const phase = pod.status?.phase;
    if (phase !== "Succeeded" && phase !== "Failed") {
      const status = pod.status ?? {};
      write(pod, {
        ...status,
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        conditions: setConditions(status, [
          condition("PodReadyToStartContainers", false, at),
          condition("Ready", false, at, exitCode === 0 ? "PodCompleted" : "PodFailed"),
          condition("ContainersReady", false, at, exitCode === 0 ? "PodCompleted" : "PodFailed"),
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
    log.record("stopped", `containers stopped (exit code ${exitCode})`, key);
    try {
      api.delete(PODS, pod.metadata.namespace as string, pod.metadata.name as string, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid as string },
      });
    } catch {
      // Already gone, or replaced by a new pod of the same name: nothing left to remove.
    }
  };

  const planStop = (pod: Pod) => {
    const key = keyOf(pod);
    timeline.cancel(`start:${key}`);
    // The grace period runs from when the kubelet sees the deletion, as on a real node; a later
    // delete with a shorter grace period cuts it short.
    const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    const planned = stopping.get(key);
    if (timeline.has(`stop:${key}`) && planned !== undefined && planned <= graceMs) return;
    if (planned === undefined) {
      const containers = pod.spec.containers.map((container) => container.name).join(", ");
      recorder?.record(pod, "Normal", "Killing", `Stopping container ${containers}`, {
        component: KUBELET,
        host: pod.spec.nodeName,
      });
    }
    stopping.set(key, graceMs);
    const exitsOnSigterm = options.podStopDelayMs !== undefined && options.podStopDelayMs < graceMs;
    timeline.schedule(
      `stop:${key}`,
      exitsOnSigterm ? (options.podStopDelayMs as number) : graceMs,
      () => stop(key, exitsOnSigterm),
    );
  };

  const sync = (pod: Pod) => {
    const node = nodeOf(pod);
    if (!node || !nodeIsReady(node)) return;
    const key = keyOf(pod);
    if (pod.metadata.deletionTimestamp) {
      // The kubelet acts on a deletion only while the grace period is still running.
      if (pod.metadata.deletionGracePeriodSeconds) planStop(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") return;
    if (!pod.status?.startTime) {
      acknowledge(pod, node);
    } else if (
      !timeline.has(`start:${key}`) &&
      !blocked.has(key) &&
      pod.status.containerStatuses?.some((status) => !status.state.running)
    ) {
      planStart(key);
    }
  };

  store.subscribe(PODS.name, (event) => {
    const pod = event.object as Pod;
    const key = keyOf(pod);
    if (event.type === "DELETED") {
      timeline.cancel(`start:${key}`);
      timeline.cancel(`stop:${key}`);
      timeline.cancel(`backoff:${key}`);
      blocked.delete(key);
      stopping.delete(key);
      releaseIP(key);
      return;
    }
    if (!pod.spec.nodeName) return;
    // Deferred, so that the write which bound or changed the pod has reached every watcher first.
    queueMicrotask(() => {
      const latest = current(key);
      if (latest && latest.metadata.uid === pod.metadata.uid && latest.spec.nodeName) sync(latest);
    });
  });

  // A ConfigMap created or changed may be what a blocked pod waits for: the kubelet tries again.
  store.subscribe(CONFIGMAPS.name, (event) => {
    if (event.type === "DELETED" || blocked.size === 0) return;
    const { namespace, name } = event.object.metadata;
    for (const [key, configMap] of blocked) {
      if (configMap !== name || !key.startsWith(`${namespace}/`)) continue;
      if (!timeline.has(`start:${key}`)) planStart(key);
    }
  });

  return {
    exitContainer(namespace, name, exit) {
      const pod = store.get(PODS.name, namespace, name) as Pod | undefined;
      if (!pod) throw new Error(`pod ${namespace}/${name} does not exist`);
      if (!pod.spec.nodeName || !pod.status?.startTime) {
        throw new Error(`pod ${namespace}/${name} is not running on a node yet`);
      }
      const key = keyOf(pod);
      const exitCode = exit.exitCode ?? 1;
      const at = rfc3339(now());
      const target = exit.container ?? pod.spec.containers[0]?.name;
      const policy = pod.spec.restartPolicy ?? "Always";
      const restarts = policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
      const terminated = (status: ContainerStatus) => ({
        exitCode,
        reason: exit.reason ?? (exitCode === 0 ? "Completed" : "Error"),
        ...(exit.message ? { message: exit.message } : {}),
        startedAt: status.state.running?.startedAt ?? at,
        finishedAt: at,
        ...(status.containerID ? { containerID: status.containerID } : {}),
      });
      const status = pod.status;
      const containerStatuses = (status.containerStatuses ?? []).map((container) => {
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
                  message: `back-off 10s restarting failed container=${container.name} pod=${name}_${namespace}(${pod.metadata.uid})`,
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
      const finished =
        !restarts && containerStatuses.every((container) => container.state.terminated);
      const failed = containerStatuses.some(
        (container) => (container.state.terminated?.exitCode ?? 0) !== 0,
      );
      const reason = finished ? (failed ? "PodFailed" : "PodCompleted") : "ContainersNotReady";
      write(pod, {
        ...status,
        ...(finished ? { phase: failed ? "Failed" : "Succeeded" } : {}),
        conditions: setConditions(status, [
          condition("Ready", false, at, reason),
          condition("ContainersReady", false, at, reason),
        ]),
        containerStatuses,
      });
      if (restarts) planStart(key);
      else timeline.cancel(`start:${key}`);
      log.record(
        exitCode === 0 ? "completed" : "failed",
        `container ${target} exited with code ${exitCode}${restarts ? ", restarting" : ""}`,
        key,
      );
    },
    resync(node) {
      for (const key of usage.podsOn(node)) {
        const pod = current(key);
        if (pod) sync(pod);
      }
    },
  };
}
