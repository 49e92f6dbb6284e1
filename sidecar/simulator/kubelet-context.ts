import type { EventLog } from "./event-log.ts";
import type { EventRecorder } from "./event-recorder.ts";
import type { NodeUsage } from "./node-usage.ts";
import type { Node, Pod } from "./object-types.ts";
import type { PodIpPool } from "./pod-ip-pool.ts";
import type { Random } from "./random.ts";
import { NODES, PODS } from "./resources.ts";
import type { RestApi } from "./rest-api.ts";
import type { Store } from "./store.ts";
import type { Timeline } from "./timeline.ts";

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

/** What the kubelets' lifecycle steps share: the options and what the kubelets remember. */
export interface KubeletContext extends KubeletOptions {
  ips: PodIpPool;
  /** Pods whose containers are being stopped, with the grace period planned (ms). */
  stopping: Map<string, number>;
  /** Pods kept from starting (see startFailure), with the ConfigMap whose creation or change
   * makes the kubelet try again ("" for a pod no ConfigMap can help). */
  blocked: Map<string, string>;
}

/** "namespace/name": how the kubelets key a pod, and the timeline its planned steps. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** The pod as it is now in the store. */
export function currentPod(store: Store, key: string): Pod | undefined {
  const slash = key.indexOf("/");
  return store.get(PODS.name, key.slice(0, slash), key.slice(slash + 1)) as Pod | undefined;
}

export function nodeOf(store: Store, pod: Pod): Node | undefined {
  return store.get(NODES.name, "", pod.spec.nodeName ?? "") as Node | undefined;
}

/** Records an Event as the kubelet of the pod's node. */
export function recordKubeletEvent(
  context: KubeletContext,
  pod: Pod,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
) {
  context.recorder?.record(pod, type, reason, message, {
    component: "kubelet",
    host: pod.spec.nodeName,
  });
}
