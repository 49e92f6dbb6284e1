// What the sidecar knows of the cluster: the pod and record caches joined by the indexes the
// handlers and the reconciler ask for (pods by request, machines being returned, machines in
// use per template), kept current incrementally from cache events; and, when watched, the nodes
// and the namespace's ResourceQuotas.
import type { CacheEvent } from "../kube/list-watch.ts";
import type { NodeView, PodView, RequestRecord } from "../provider/model.ts";
import { podNameOfMachine } from "../provider/naming.ts";
import type { QuotaView } from "../provider/quota.ts";
import type { SeenPod } from "../provider/request-status.ts";

/** The part of a list-watch cache the state needs. */
export interface Cache<T> {
  readonly synced: boolean;
  /** `lastError`: a list or watch failed and the cache has not caught up since. */
  readonly stats?: { readonly lastError?: string | undefined };
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  subscribe(listener: (event: CacheEvent<T>) => void): () => void;
}

/** Which requests a change concerns. */
export type ChangeListener = (requestIds: ReadonlySet<string>) => void;

export interface ClusterState {
  readonly synced: boolean;
  /** A cache's list or watch failed and it has not caught up since (relisted, or resumed its
   * watch): it may be behind the API server, so an answer that could go backwards is checked
   * there first. */
  readonly catchingUp: boolean;
  pod(name: string): PodView | undefined;
  pods(): IterableIterator<PodView>;
  /** A node, when nodes are watched. */
  node(name: string): NodeView | undefined;
  record(requestId: string): RequestRecord | undefined;
  records(): IterableIterator<RequestRecord>;
  hasPods(requestId: string): boolean;
  /** A pod as it is, or as it was last seen while its request's record lives: a machine keeps
   * its machineId and launchtime after its pod is gone. */
  lastSeen(podName: string): SeenPod | undefined;
  /** Whether a return request covers this pod (completed ones too, until their record expires):
   * such a machine is never created again, nor reported to HostFactory as taken away. */
  isReturning(podName: string): boolean;
  /** Live pods of a template plus machines asked for and not yet created or failed. */
  machinesInUse(templateId: string): number;
  /** Machines of a template asked for and not yet created or failed: no quota counts them yet. */
  machinesNotCreated(templateId: string): number;
  /** The namespace's ResourceQuotas, when they are watched; none otherwise. */
  quotas(): Iterable<QuotaView>;
  onChange(listener: ChangeListener): () => void;
  close(): void;
}

function increment(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next === 0) map.delete(key);
  else map.set(key, next);
}

function isAlive(pod: PodView): boolean {
  return pod.phase !== "Failed" && pod.phase !== "Succeeded";
}

function seenOf(pod: PodView): SeenPod {
  const seen: SeenPod = { uid: pod.uid, createdAt: pod.createdAt };
  if (pod.preempted !== undefined) seen.preempted = pod.preempted;
  return seen;
}

export function createClusterState(
  pods: Cache<PodView>,
  records: Cache<RequestRecord>,
  nodes?: Cache<NodeView>,
  quotas?: Cache<QuotaView>,
): ClusterState {
  const podsByRequest = new Map<string, number>();
  const alivePodsByTemplate = new Map<string, number>();
  const returning = new Map<string, number>();
  const listeners = new Set<ChangeListener>();
  /** Pods gone while their request's record lives, by name; and their names by request. */
  const gone = new Map<string, SeenPod>();
  const goneByRequest = new Map<string, Set<string>>();
  const forgetGone = (name: string, requestId: string) => {
    if (!gone.delete(name)) return;
    const names = goneByRequest.get(requestId);
    names?.delete(name);
    if (names?.size === 0) goneByRequest.delete(requestId);
  };
  const rememberGone = (pod: PodView) => {
    if (!pod.requestId || !records.get(pod.requestId)) return;
    gone.set(pod.name, seenOf(pod));
    const names = goneByRequest.get(pod.requestId) ?? new Set();
    names.add(pod.name);
    goneByRequest.set(pod.requestId, names);
  };

  const notCreated = (templateId: string) => {
    let total = 0;
    for (const record of records.values()) {
      if (record.kind !== "create" || record.templateId !== templateId || record.settled) continue;
      const failed = Object.keys(record.failures).length;
      const created = podsByRequest.get(record.requestId) ?? 0;
      total += Math.max(0, record.machineCount - failed - created);
    }
    return total;
  };

  const notify = (requestIds: Set<string>) => {
    for (const listener of listeners) listener(requestIds);
  };
  const indexPod = (pod: PodView, sign: 1 | -1) => {
    if (pod.requestId) increment(podsByRequest, pod.requestId, sign);
    if (pod.templateId && isAlive(pod)) increment(alivePodsByTemplate, pod.templateId, sign);
  };
  const indexRecord = (record: RequestRecord, sign: 1 | -1) => {
    if (record.kind !== "return") return;
    for (const machine of record.machines)
      increment(returning, podNameOfMachine(machine.name), sign);
  };
  const returningRequests = (podName: string): string[] => {
    if (!returning.has(podName)) return [];
    const ids: string[] = [];
    for (const record of records.values()) {
      if (record.kind === "return" && record.completedAt === undefined) {
        if (record.machines.some((m) => podNameOfMachine(m.name) === podName)) {
          ids.push(record.requestId);
        }
      }
    }
    return ids;
  };

  for (const pod of pods.values()) indexPod(pod, 1);
  for (const record of records.values()) indexRecord(record, 1);
  const unsubscribePods = pods.subscribe(({ item, previous, type }) => {
    if (previous) indexPod(previous, -1);
    if (type !== "DELETED") indexPod(item, 1);
    if (type === "DELETED") rememberGone(item);
    else forgetGone(item.name, item.requestId);
    const ids = new Set(returningRequests(item.name));
    if (item.requestId) ids.add(item.requestId);
    notify(ids);
  });
  const unsubscribeRecords = records.subscribe(({ item, previous, type }) => {
    if (previous) indexRecord(previous, -1);
    if (type !== "DELETED") indexRecord(item, 1);
    else
      for (const name of goneByRequest.get(item.requestId) ?? []) forgetGone(name, item.requestId);
    notify(new Set([item.requestId]));
  });

  return {
    get synced() {
      return pods.synced && records.synced && (nodes?.synced ?? true) && (quotas?.synced ?? true);
    },
    get catchingUp() {
      return pods.stats?.lastError !== undefined || records.stats?.lastError !== undefined;
    },
    pod: (name) => pods.get(name),
    pods: () => pods.values(),
    node: (name) => nodes?.get(name),
    record: (requestId) => records.get(requestId),
    records: () => records.values(),
    hasPods: (requestId) => podsByRequest.has(requestId),
    lastSeen(name) {
      const pod = pods.get(name);
      return pod ? seenOf(pod) : gone.get(name);
    },
    isReturning: (podName) => returning.has(podName),
    machinesInUse: (templateId) =>
      (alivePodsByTemplate.get(templateId) ?? 0) + notCreated(templateId),
    machinesNotCreated: notCreated,
    quotas: () => quotas?.values() ?? [],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      unsubscribePods();
      unsubscribeRecords();
      listeners.clear();
    },
  };
}
