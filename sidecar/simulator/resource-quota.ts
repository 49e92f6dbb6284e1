import { isDeepStrictEqual } from "node:util";
import { formatQuantityNanos, parseQuantityNanos } from "../../templates/quantity.ts";
import { podQuotaProfile, type QuotaScope, quotaSelects } from "../provider/quota.ts";
import type { KubeObject, Pod } from "./object-types.ts";
import { PODS, RESOURCE_QUOTAS } from "./resources.ts";
import { forbidden } from "./status-error.ts";
import type { Store } from "./store.ts";
import { thaw } from "./store-event.ts";

/**
 * ResourceQuotas for pods, as kube-apiserver's ResourceQuota admission plugin and the controller
 * manager's resource quota controller keep them: the controller writes `status.hard` (the spec's
 * limits) and `status.used` (what the namespace's pods selected by the quota's scopes use); the
 * admission plugin refuses a pod that would take a quota past its limit, with the API server's
 * message, and adds the pod's usage to `status.used` when it admits it. Only pod resources are
 * counted (`pods`, `count/pods`, cpu, memory, ephemeral storage, hugepages, extended resources);
 * the usage of a pod is the provider's own evaluator (sidecar/provider/quota.ts), which the real
 * control plane suites hold to kube-apiserver's.
 */
export interface ResourceQuotas {
  /** Throws the API server's 403 when a quota refuses the pod; else charges every quota that
   * counts it (unless `dryRun`). */
  admitPod(namespace: string, pod: Pod, dryRun: boolean): void;
}

interface QuotaObject extends KubeObject {
  spec?: {
    hard?: Record<string, string>;
    scopes?: string[];
    scopeSelector?: { matchExpressions?: QuotaScope[] };
  };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/** A quantity, and whether it is written in binary units (the first addend's format wins). */
interface Amount {
  nanos: bigint;
  binary: boolean;
}
type Amounts = Map<string, Amount>;

const COMPUTE = ["cpu", "memory", "ephemeral-storage"];
/** Resources the pod evaluator counts (MatchingResources in pkg/quota/v1/evaluator/core/pods.go). */
function isPodResource(name: string): boolean {
  if (name === "pods" || name === "count/pods") return true;
  if (COMPUTE.some((r) => name === r || name === `requests.${r}` || name === `limits.${r}`)) {
    return true;
  }
  if (name.startsWith("hugepages-") || name.startsWith("requests.hugepages-")) return true;
  const requested = name.startsWith("requests.") ? name.slice("requests.".length) : undefined;
  return (
    requested !== undefined &&
    ((requested.includes("/") && !requested.includes("kubernetes.io/")) ||
      requested.startsWith("deviceclass.resource.kubernetes.io/"))
  );
}

function amount(text: string): Amount | undefined {
  const nanos = parseQuantityNanos(text);
  return nanos === undefined ? undefined : { nanos, binary: /i$/.test(text.trim()) };
}

const format = ({ nanos, binary }: Amount) => formatQuantityNanos(nanos, binary);

function amounts(list: Record<string, string> | undefined): Amounts {
  const result: Amounts = new Map();
  for (const [name, text] of Object.entries(list ?? {})) {
    const value = amount(String(text));
    if (value) result.set(name, value);
  }
  return result;
}

function written(list: Amounts): Record<string, string> {
  return Object.fromEntries([...list].map(([name, value]) => [name, format(value)]));
}

function plus(a: Amount | undefined, b: Amount): Amount {
  if (!a || a.nanos === 0n) return { ...b };
  return { nanos: a.nanos + b.nanos, binary: a.binary };
}

/** The binary-or-decimal format of the first quantity the pod states for each resource. */
function formats(pod: Pod): Map<string, boolean> {
  const result = new Map<string, boolean>();
  const note = (list: unknown) => {
    if (typeof list !== "object" || list === null) return;
    for (const [name, text] of Object.entries(list)) {
      if (!result.has(name)) result.set(name, /i$/.test(String(text).trim()));
    }
  };
  for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    note(container.resources?.requests);
    note(container.resources?.limits);
  }
  const podLevel = pod.spec.resources as { requests?: unknown; limits?: unknown } | undefined;
  note(podLevel?.requests);
  note(podLevel?.limits);
  note(pod.spec.overhead);
  return result;
}

/** What the pod adds to a quota's usage; a finished pod keeps only its object count. */
function podUsage(pod: Pod): Amounts {
  const profile = podQuotaProfile(pod.spec as Record<string, unknown>);
  const binary = formats(pod);
  const finished = pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
  const usage: Amounts = new Map();
  for (const [name, nanos] of profile.usage) {
    if (finished && name !== "count/pods") continue;
    const base = name.replace(/^(requests|limits)\./, "");
    usage.set(name, { nanos, binary: binary.get(base) ?? false });
  }
  return usage;
}

function scopesOf(quota: QuotaObject): QuotaScope[] {
  return [
    ...(quota.spec?.scopes ?? []).map((scopeName) => ({
      scopeName,
      operator: "Exists",
      values: [],
    })),
    ...(quota.spec?.scopeSelector?.matchExpressions ?? []).map((expression) => ({
      scopeName: expression.scopeName,
      operator: expression.operator,
      values: expression.values ?? [],
    })),
  ];
}

function selects(quota: QuotaObject, pod: Pod): boolean {
  return quotaSelects(
    { name: "", spec: new Map(), hard: new Map(), used: new Map(), scopes: scopesOf(quota) },
    podQuotaProfile(pod.spec as Record<string, unknown>),
  );
}

/** "requests.cpu=100m,requests.memory=1Gi", as the admission plugin prints a resource list. */
function printed(list: Amounts, names: readonly string[]): string {
  return [...names]
    .sort()
    .map((name) => `${name}=${format(list.get(name) ?? { nanos: 0n, binary: false })}`)
    .join(",");
}

/** The containers that state no amount of a resource a quota limits by cpu or memory: the API
 * server insists on one ("must specify limits.cpu for: app"). */
function missingAmounts(pod: Pod, restricted: readonly string[]): string | undefined {
  const checked = restricted.filter((name) => /^(requests\.|limits\.)?(cpu|memory)$/.test(name));
  const podLevel = pod.spec.resources as { requests?: object; limits?: object } | undefined;
  const podLevelSet = [podLevel?.requests, podLevel?.limits].some((list) =>
    Object.keys(list ?? {}).some((name) => name === "cpu" || name === "memory"),
  );
  if (checked.length === 0 || podLevelSet) return undefined;
  const missing = new Map<string, string[]>();
  for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    const limits = container.resources?.limits ?? {};
    const requests = { ...limits, ...container.resources?.requests };
    const stated = new Set<string>();
    for (const name of ["cpu", "memory"]) {
      if (requests[name] !== undefined) stated.add(name).add(`requests.${name}`);
      if (limits[name] !== undefined) stated.add(`limits.${name}`);
    }
    for (const name of checked) {
      if (!stated.has(name)) missing.set(name, [...(missing.get(name) ?? []), container.name]);
    }
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()]
    .sort()
    .map((name) => `${name} for: ${[...new Set(missing.get(name))].sort().join(",")}`);
  return `must specify ${parts.join("; ")}`;
}

export function createResourceQuotas(store: Store): ResourceQuotas {
  const quotasIn = (namespace: string) =>
    (store.list(RESOURCE_QUOTAS.name, namespace) as QuotaObject[])
      .filter((quota) => !quota.metadata.deletionTimestamp)
      .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));

  /** The quota controller's pass over one quota: its limits, and the usage of its pods. */
  const recount = (quota: QuotaObject) => {
    const hard = amounts(quota.spec?.hard);
    const used: Amounts = new Map();
    const counted = [...hard.keys()].filter(isPodResource);
    for (const name of counted) used.set(name, { nanos: 0n, binary: false });
    const namespace = quota.metadata.namespace as string;
    for (const pod of store.list(PODS.name, namespace) as Pod[]) {
      if (!selects(quota, pod)) continue;
      const usage = podUsage(pod);
      for (const name of counted) {
        const value = usage.get(name);
        if (value) used.set(name, plus(used.get(name), value));
      }
    }
    const status = { hard: written(hard), used: written(used) };
    if (isDeepStrictEqual(quota.status, status)) return;
    store.put(RESOURCE_QUOTAS.name, { ...thaw(quota), status });
  };

  const pending = new Set<string>();
  /** Recounts a namespace's quotas once the write under way is done, as the controller would. */
  const recountLater = (namespace: string) => {
    if (pending.has(namespace)) return;
    pending.add(namespace);
    queueMicrotask(() => {
      pending.delete(namespace);
      for (const quota of quotasIn(namespace)) recount(quota);
    });
  };
  store.subscribe(RESOURCE_QUOTAS.name, (event) => {
    if (event.type !== "DELETED") recountLater(event.object.metadata.namespace as string);
  });
  store.subscribe(PODS.name, (event) => {
    const pod = event.object as Pod;
    const phase = pod.status?.phase;
    const ended =
      event.type === "DELETED" ||
      (phase !== (event.previous as Pod | undefined)?.status?.phase &&
        (phase === "Succeeded" || phase === "Failed"));
    if (ended) recountLater(pod.metadata.namespace as string);
  });

  return {
    admitPod(namespace, pod, dryRun) {
      const name = pod.metadata.name ?? "";
      const refuse = (message: string) =>
        forbidden(`pods "${name}" is forbidden: ${message}`, { name, kind: "pods" });
      const charged: QuotaObject[] = [];
      const usage = podUsage(pod);
      for (const quota of quotasIn(namespace)) {
        const restricted = Object.keys(quota.status?.hard ?? {}).filter(isPodResource);
        if (restricted.length === 0 || !selects(quota, pod)) continue;
        const missing = missingAmounts(pod, restricted);
        if (missing) throw refuse(`failed quota: ${quota.metadata.name}: ${missing}`);
        const unknown = restricted.filter(
          (resource) => quota.status?.used?.[resource] === undefined,
        );
        if (unknown.length > 0) {
          throw refuse(
            `status unknown for quota: ${quota.metadata.name}, resources: ${unknown.sort().join(",")}`,
          );
        }
        charged.push(quota);
      }
      const updates: QuotaObject[] = [];
      for (const quota of charged) {
        const hard = amounts(quota.status?.hard);
        const used = amounts(quota.status?.used);
        const requested = [...hard.keys()].filter((resource) => usage.has(resource));
        if (requested.length === 0) continue;
        const next = new Map(used);
        for (const resource of requested) {
          next.set(resource, plus(used.get(resource), usage.get(resource) as Amount));
        }
        const exceeded = requested.filter(
          (resource) => (next.get(resource) as Amount).nanos > (hard.get(resource) as Amount).nanos,
        );
        if (exceeded.length > 0) {
          throw refuse(
            `exceeded quota: ${quota.metadata.name}, requested: ${printed(usage, exceeded)}, used: ${printed(used, exceeded)}, limited: ${printed(hard, exceeded)}`,
          );
        }
        updates.push({ ...thaw(quota), status: { ...quota.status, used: written(next) } });
      }
      if (dryRun) return;
      for (const quota of updates) store.put(RESOURCE_QUOTAS.name, quota);
    },
  };
}
