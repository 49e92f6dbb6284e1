// ResourceQuotas as the API server counts them against a pod: what one pod of a template uses
// (the quota evaluator's usage: requests summed over containers, at least each init container's,
// plus overhead), which quotas its scopes put it under, and how many more such pods a namespace's
// quotas still admit. Pure: quotas arrive as QuotaViews, pods as template pod specs.
import { formatQuantityNanos, parseQuantityNanos } from "../../templates/quantity.ts";

/** A `spec.scopes` entry or a `spec.scopeSelector` expression. */
export interface QuotaScope {
  scopeName: string;
  /** "Exists" for a `spec.scopes` entry. */
  operator: string;
  values: readonly string[];
}

/** What the quota cache keeps of a ResourceQuota; amounts in nano-units (quantity.ts). */
export interface QuotaView {
  name: string;
  /** spec.hard: what the quota limits. */
  spec: ReadonlyMap<string, bigint>;
  /** status.hard and status.used, as the quota controller and admission last wrote them. */
  hard: ReadonlyMap<string, bigint>;
  used: ReadonlyMap<string, bigint>;
  scopes: readonly QuotaScope[];
}

/** What a quota's scopes look at in a pod, and what one pod adds to its usage. */
export interface PodQuotaProfile {
  /** By quota resource name (`pods`, `requests.cpu`, `limits.memory`, `requests.nvidia.com/gpu`),
   * in nano-units; only non-zero amounts. */
  usage: ReadonlyMap<string, bigint>;
  /** spec.activeDeadlineSeconds is set (the Terminating scope). */
  terminating: boolean;
  /** No cpu or memory requested or limited anywhere (QoS class BestEffort). */
  bestEffort: boolean;
  priorityClassName: string;
  /** A pod (anti-)affinity term names other namespaces (the CrossNamespacePodAffinity scope). */
  crossNamespaceAffinity: boolean;
}

/** The quota that allows the fewest more pods, and why. */
export interface QuotaLimit {
  /** More pods the quota admits (0 when none, or when its status is not computed yet). */
  machines: number;
  quota: string;
  resource: string;
  /** For a message: "requests.cpu: 200m hard, 100m used, 100m a machine". */
  detail: string;
}

/** Machines accepted but not created yet: no quota counts them so far. */
export interface UncountedMachines {
  profile: PodQuotaProfile;
  count: number;
}

type Amounts = Map<string, bigint>;
type Json = Record<string, unknown>;

const UNIT = 10n ** 9n;
/** Resources a pod may set for itself (spec.resources) instead of per container. */
const POD_LEVEL = (name: string) =>
  name === "cpu" || name === "memory" || name.startsWith("hugepages-");

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function amounts(value: unknown): Amounts {
  const result: Amounts = new Map();
  for (const [name, quantity] of Object.entries(isObject(value) ? value : {})) {
    if (typeof quantity !== "string" && typeof quantity !== "number") continue;
    const nanos = parseQuantityNanos(quantity);
    if (nanos !== undefined) result.set(name, nanos);
  }
  return result;
}

function add(into: Amounts, from: ReadonlyMap<string, bigint>): Amounts {
  for (const [name, value] of from) into.set(name, (into.get(name) ?? 0n) + value);
  return into;
}

function max(into: Amounts, from: ReadonlyMap<string, bigint>): void {
  for (const [name, value] of from) {
    const current = into.get(name);
    if (current === undefined || value > current) into.set(name, value);
  }
}

function resourcesOf(container: unknown): { requests: Amounts; limits: Amounts } {
  const resources = isObject(container) && isObject(container.resources) ? container.resources : {};
  const limits = amounts(resources.limits);
  // The API server defaults a container's requests to its limits.
  const requests = new Map([...limits, ...amounts(resources.requests)]);
  return { requests, limits };
}

/** Containers summed; each init container at least, on top of the sidecars started before it. */
function aggregate(spec: Json, kind: "requests" | "limits"): Amounts {
  const result: Amounts = new Map();
  for (const container of Array.isArray(spec.containers) ? spec.containers : []) {
    add(result, resourcesOf(container)[kind]);
  }
  const sidecars: Amounts = new Map();
  const init: Amounts = new Map();
  for (const container of Array.isArray(spec.initContainers) ? spec.initContainers : []) {
    const own = resourcesOf(container)[kind];
    if (isObject(container) && container.restartPolicy === "Always") {
      add(result, own);
      add(sidecars, own);
      max(init, sidecars);
    } else {
      max(init, add(new Map(own), sidecars));
    }
  }
  max(result, init);
  return result;
}

/** The pod's requests and limits as the quota evaluator takes them (component-helpers'
 * PodRequests and PodLimits with pod-level resources). */
function podAmounts(spec: Json): { requests: Amounts; limits: Amounts } {
  const requests = aggregate(spec, "requests");
  const limits = aggregate(spec, "limits");
  const podLevel = isObject(spec.resources) ? spec.resources : {};
  const podRequests = amounts(podLevel.requests);
  const podLimits = amounts(podLevel.limits);
  for (const [name, value] of podLimits) {
    if (!POD_LEVEL(name)) continue;
    limits.set(name, value);
    // Pod-level requests default to the containers' requests, else to the pod-level limit.
    if (!podRequests.has(name) && !requests.has(name)) requests.set(name, value);
  }
  for (const [name, value] of podRequests) if (POD_LEVEL(name)) requests.set(name, value);
  const overhead = amounts(spec.overhead);
  add(requests, overhead);
  for (const [name, value] of overhead) {
    const limit = limits.get(name);
    if (limit !== undefined) limits.set(name, limit + value);
  }
  return { requests, limits };
}

/** An extended resource: a name outside the kubernetes.io domains (nvidia.com/gpu), or one
 * that dynamic resource allocation backs with a device class. */
function isExtended(name: string): boolean {
  if (name.startsWith("deviceclass.resource.kubernetes.io/")) return true;
  return name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.");
}

/** The quota evaluator's usage of one pod (pkg/quota/v1/evaluator/core/pods.go). */
function usageOf(requests: Amounts, limits: Amounts): Amounts {
  const usage: Amounts = new Map([
    ["count/pods", UNIT],
    ["pods", UNIT],
  ]);
  for (const name of ["cpu", "memory", "ephemeral-storage"]) {
    const request = requests.get(name);
    if (request !== undefined) {
      usage.set(name, request);
      usage.set(`requests.${name}`, request);
    }
    const limit = limits.get(name);
    if (limit !== undefined) usage.set(`limits.${name}`, limit);
  }
  for (const [name, request] of requests) {
    if (name.startsWith("hugepages-")) usage.set(name, request);
    if (name.startsWith("hugepages-") || isExtended(name)) usage.set(`requests.${name}`, request);
  }
  for (const [name, value] of usage) if (value <= 0n) usage.delete(name);
  return usage;
}

function zeroCpuAndMemory(resources: { requests: Amounts; limits: Amounts }): boolean {
  return ["cpu", "memory"].every(
    (name) => !resources.requests.get(name) && !resources.limits.get(name),
  );
}

function usesOtherNamespaces(spec: Json): boolean {
  const affinity = isObject(spec.affinity) ? spec.affinity : {};
  return [affinity.podAffinity, affinity.podAntiAffinity].some((kind) => {
    if (!isObject(kind)) return false;
    const required = kind.requiredDuringSchedulingIgnoredDuringExecution;
    const preferred = kind.preferredDuringSchedulingIgnoredDuringExecution;
    const terms = [
      ...(Array.isArray(required) ? required : []),
      ...(Array.isArray(preferred) ? preferred : []).map((weighted) =>
        isObject(weighted) ? weighted.podAffinityTerm : undefined,
      ),
    ];
    return terms.some(
      (term) =>
        isObject(term) &&
        ((Array.isArray(term.namespaces) && term.namespaces.length > 0) ||
          term.namespaceSelector != null),
    );
  });
}

/** What a pod with this spec is to the namespace's quotas. */
export function podQuotaProfile(spec: Record<string, unknown>): PodQuotaProfile {
  const { requests, limits } = podAmounts(spec);
  const containers = [
    ...(Array.isArray(spec.initContainers) ? spec.initContainers : []),
    ...(Array.isArray(spec.containers) ? spec.containers : []),
  ];
  const podLevel = isObject(spec.resources) ? spec.resources : undefined;
  const podLevelSet =
    podLevel !== undefined &&
    [...amounts(podLevel.requests).keys(), ...amounts(podLevel.limits).keys()].some(POD_LEVEL);
  const bestEffort = podLevelSet
    ? zeroCpuAndMemory({ requests: amounts(podLevel.requests), limits: amounts(podLevel.limits) })
    : containers.every((container) => zeroCpuAndMemory(resourcesOf(container)));
  const deadline = spec.activeDeadlineSeconds;
  return {
    usage: usageOf(requests, limits),
    terminating: typeof deadline === "number" && deadline >= 0,
    bestEffort,
    priorityClassName: typeof spec.priorityClassName === "string" ? spec.priorityClassName : "",
    crossNamespaceAffinity: usesOtherNamespaces(spec),
  };
}

function scopeMatches(scope: QuotaScope, pod: PodQuotaProfile): boolean {
  switch (scope.scopeName) {
    case "Terminating":
      return pod.terminating;
    case "NotTerminating":
      return !pod.terminating;
    case "BestEffort":
      return pod.bestEffort;
    case "NotBestEffort":
      return !pod.bestEffort;
    case "CrossNamespacePodAffinity":
      return pod.crossNamespaceAffinity;
    case "PriorityClass": {
      // A label selector over {PriorityClass: name}, the key absent when the pod names none.
      const name = pod.priorityClassName;
      switch (scope.operator) {
        case "Exists":
          return name !== "";
        case "DoesNotExist":
          return name === "";
        case "In":
          return name !== "" && scope.values.includes(name);
        case "NotIn":
          return name === "" || !scope.values.includes(name);
        default:
          return false;
      }
    }
    default:
      // VolumeAttributesClass and scopes yet unknown select no pod.
      return false;
  }
}

/** Every scope of the quota selects the pod (a quota without scopes selects every pod). */
export function quotaSelects(quota: QuotaView, pod: PodQuotaProfile): boolean {
  return quota.scopes.every((scope) => scopeMatches(scope, pod));
}

function isBinary(resource: string): boolean {
  return /memory|storage|hugepages/.test(resource);
}

/**
 * How many more pods of `pod`'s kind the quotas admit, and which quota allows the fewest;
 * undefined when none limits it. `uncounted` are machines accepted and not created yet, of any
 * template: admission adds a pod to a quota's `used` when it creates it, so until then they are
 * taken off the room left here.
 */
export function quotaHeadroom(
  pod: PodQuotaProfile,
  quotas: Iterable<QuotaView>,
  uncounted: readonly UncountedMachines[] = [],
): QuotaLimit | undefined {
  let tightest: QuotaLimit | undefined;
  const sorted = [...quotas].sort((a, b) => a.name.localeCompare(b.name));
  for (const quota of sorted) {
    if (!quotaSelects(quota, pod)) continue;
    const pending = uncounted.filter((machines) => quotaSelects(quota, machines.profile));
    for (const [resource, each] of pod.usage) {
      if (!quota.spec.has(resource) && !quota.hard.has(resource)) continue;
      const hard = quota.hard.get(resource);
      const used = quota.used.get(resource);
      let limit: QuotaLimit;
      if (hard === undefined || used === undefined) {
        // The API server refuses such pods until the quota controller has counted the namespace.
        limit = {
          machines: 0,
          quota: quota.name,
          resource,
          detail: `${resource}: not counted yet by the quota controller`,
        };
      } else {
        let reserved = 0n;
        for (const { profile, count } of pending) {
          reserved += (profile.usage.get(resource) ?? 0n) * BigInt(count);
        }
        const room = hard - used - reserved;
        const machines = room <= 0n ? 0 : Number(room / each);
        const binary = isBinary(resource);
        const format = (value: bigint) => formatQuantityNanos(value, binary);
        const notCreated =
          reserved > 0n ? `, ${format(reserved)} for machines not created yet` : "";
        limit = {
          machines,
          quota: quota.name,
          resource,
          detail: `${resource}: ${format(hard)} hard, ${format(used)} used${notCreated}, ${format(each)} a machine`,
        };
      }
      if (!tightest || limit.machines < tightest.machines) tightest = limit;
    }
  }
  return tightest;
}
