import type { Container, Pod, PodSpec, Toleration } from "./object-types.ts";
import { resourceUnits } from "./quantity.ts";

/** What the API server (with its default admission plugins) fills into a pod on create. */

/** The tolerations the DefaultTolerationSeconds admission plugin adds. */
export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";
export const UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable";
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

function defaultContainer(container: Container): Container {
  const image = container.image ?? "";
  const tagged = /:[^/]+$/.test(image) && !image.endsWith(":latest");
  return {
    ...container,
    imagePullPolicy:
      container.imagePullPolicy ?? (tagged || image.includes("@") ? "IfNotPresent" : "Always"),
    terminationMessagePath: container.terminationMessagePath ?? "/dev/termination-log",
    terminationMessagePolicy: container.terminationMessagePolicy ?? "File",
    resources: container.resources ?? {},
  };
}

function withDefaultTolerations(
  tolerations: Toleration[] | undefined,
  seconds: number,
): Toleration[] {
  const result = [...(tolerations ?? [])];
  for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT]) {
    const tolerated = result.some(
      (toleration) =>
        (toleration.key === key || (!toleration.key && toleration.operator === "Exists")) &&
        (!toleration.effect || toleration.effect === "NoExecute"),
    );
    if (!tolerated) {
      result.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds });
    }
  }
  return result;
}

export function qosClass(spec: PodSpec): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  const resources = containers.map((container) => container.resources ?? {});
  if (
    resources.every(
      ({ requests, limits }) =>
        Object.keys(requests ?? {}).length === 0 && Object.keys(limits ?? {}).length === 0,
    )
  ) {
    return "BestEffort";
  }
  const guaranteed = resources.every(({ requests, limits }) =>
    ["cpu", "memory"].every((name) => {
      const limit = limits?.[name];
      const request = requests?.[name] ?? limit;
      return (
        limit !== undefined && resourceUnits(name, request ?? "") === resourceUnits(name, limit)
      );
    }),
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** The defaults of PodSpec, the DefaultTolerationSeconds plugin and a fresh Pending status. */
export function preparePodForCreate(pod: Pod, defaultTolerationSeconds: number): Pod {
  const spec: PodSpec = {
    ...pod.spec,
    containers: pod.spec.containers.map(defaultContainer),
    ...(pod.spec.initContainers
      ? { initContainers: pod.spec.initContainers.map(defaultContainer) }
      : {}),
    restartPolicy: pod.spec.restartPolicy ?? "Always",
    terminationGracePeriodSeconds:
      pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
    dnsPolicy: pod.spec.dnsPolicy ?? "ClusterFirst",
    schedulerName: pod.spec.schedulerName ?? "default-scheduler",
    serviceAccountName: pod.spec.serviceAccountName ?? "default",
    securityContext: pod.spec.securityContext ?? {},
    enableServiceLinks: pod.spec.enableServiceLinks ?? true,
    priority: pod.spec.priority ?? 0,
    preemptionPolicy: pod.spec.preemptionPolicy ?? "PreemptLowerPriority",
    tolerations: withDefaultTolerations(pod.spec.tolerations, defaultTolerationSeconds),
  };
  return { ...pod, spec, status: { phase: "Pending", qosClass: qosClass(spec) } };
}

/**
 * The grace period a delete gets, as the pod strategy decides it: what the caller asked, else
 * the pod's own; zero for a pod no kubelet runs (unscheduled) or that has already finished.
 */
export function podGracePeriodSeconds(pod: Pod, requested: number | undefined): number {
  if (!pod.spec.nodeName) return 0;
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return 0;
  return Math.max(
    0,
    requested ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  );
}

/** Sum of a pod's requests in scheduler units (millicores, bytes), as the scheduler counts them. */
export function podRequests(pod: Pod): Record<string, number> {
  const total: Record<string, number> = {};
  for (const container of pod.spec.containers) {
    const requests = { ...container.resources?.limits, ...container.resources?.requests };
    for (const [name, value] of Object.entries(requests)) {
      total[name] = (total[name] ?? 0) + resourceUnits(name, value);
    }
  }
  // An init container runs alone, so only its excess over the app containers counts.
  for (const container of pod.spec.initContainers ?? []) {
    const requests = { ...container.resources?.limits, ...container.resources?.requests };
    for (const [name, value] of Object.entries(requests)) {
      total[name] = Math.max(total[name] ?? 0, resourceUnits(name, value));
    }
  }
  return total;
}
