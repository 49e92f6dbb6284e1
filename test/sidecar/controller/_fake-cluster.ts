// A cluster for the reconciler without an API server: caches the test fills, a pod writer that
// records every call and answers as the test says (an error, or success), a watch that can lag
// behind the calls, and a record store that applies findings to the record cache.
import { createClusterState } from "../../../sidecar/controller/cluster-state.ts";
import type { CacheEvent } from "../../../sidecar/kube/list-watch.ts";
import type { PodWriter } from "../../../sidecar/kube/pod-writer.ts";
import type { RecordStore } from "../../../sidecar/kube/record-store.ts";
import type { PodView, RequestRecord } from "../../../sidecar/provider/model.ts";
import { parsePodName } from "../../../sidecar/provider/naming.ts";
import type { TemplatesSource } from "../../../sidecar/templates-source.ts";
import type { Template } from "../../../templates/parse.ts";
import { PREFIX, pod } from "../provider/fixtures.ts";

export interface FakeCache<T> {
  readonly synced: boolean;
  get(key: string): T | undefined;
  values(): IterableIterator<T>;
  subscribe(listener: (event: CacheEvent<T>) => void): () => void;
  set(item: T): void;
  remove(key: string): void;
}

function createFakeCache<T>(keyOf: (item: T) => string): FakeCache<T> {
  const items = new Map<string, T>();
  const listeners = new Set<(event: CacheEvent<T>) => void>();
  const emit = (event: CacheEvent<T>) => {
    for (const listener of listeners) listener(event);
  };
  return {
    synced: true,
    get: (key) => items.get(key),
    values: () => items.values(),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(item) {
      const key = keyOf(item);
      const previous = items.get(key);
      items.set(key, item);
      emit({ type: previous ? "MODIFIED" : "ADDED", key, item, previous });
    },
    remove(key) {
      const previous = items.get(key);
      if (!previous) return;
      items.delete(key);
      emit({ type: "DELETED", key, item: previous, previous });
    },
  };
}

export interface PodCall {
  verb: "create" | "delete";
  pod: string;
  at: number;
}

export interface FakeCluster {
  pods: FakeCache<PodView>;
  records: FakeCache<RequestRecord>;
  state: ReturnType<typeof createClusterState>;
  writer: PodWriter;
  recordStore: RecordStore;
  templates: TemplatesSource;
  /** Every pod call, in the order made. */
  calls: PodCall[];
  /** What a create of this pod answers: an error to throw, or undefined for success. */
  createAnswer: (pod: string) => Error | undefined;
  deleteAnswer: (pod: string) => Error | undefined;
  /** While true, the pod cache does not show the effect of successful calls. */
  watchLags: boolean;
  /** Delivers the pod events held back while the watch lagged. */
  catchUp(): void;
  /** Template lookups made by planning, counted. */
  templateLookups: number;
}

export function createFakeCluster(templateList: Template[]): FakeCluster {
  const pods = createFakeCache<PodView>((p) => p.name);
  const records = createFakeCache<RequestRecord>((r) => r.requestId);
  const held: (() => void)[] = [];
  const deliver = (event: () => void) => {
    if (cluster.watchLags) held.push(event);
    else event();
  };
  const cluster: FakeCluster = {
    pods,
    records,
    state: createClusterState(pods, records),
    calls: [],
    createAnswer: () => undefined,
    deleteAnswer: () => undefined,
    watchLags: false,
    templateLookups: 0,
    catchUp() {
      for (const event of held.splice(0)) event();
    },
    writer: {
      async create(body) {
        const { metadata } = body as { metadata: { name: string } };
        cluster.calls.push({ verb: "create", pod: metadata.name, at: Date.now() });
        const error = cluster.createAnswer(metadata.name);
        if (error) throw error;
        const machine = parsePodName(PREFIX, metadata.name);
        const created = pod({
          name: metadata.name,
          uid: `uid-${metadata.name}`,
          requestId: machine?.requestId ?? "",
          createdAt: Date.now(),
        });
        deliver(() => pods.set(created));
      },
      async delete(name) {
        cluster.calls.push({ verb: "delete", pod: name, at: Date.now() });
        const error = cluster.deleteAnswer(name);
        if (error) throw error;
        deliver(() => pods.remove(name));
      },
    },
    recordStore: {
      async patch(requestId, findings) {
        const record = records.get(requestId);
        if (!record) return;
        const failures = { ...record.failures, ...Object.fromEntries(findings.failures ?? []) };
        const next = { ...record, failures };
        if (findings.completedAt !== undefined) next.completedAt ??= findings.completedAt;
        if (next.kind === "create" && findings.settled) next.settled = true;
        records.set(next);
      },
      async remove(requestId) {
        records.remove(requestId);
      },
    } as RecordStore,
    templates: {
      get templates() {
        return templateList;
      },
      get(templateId) {
        cluster.templateLookups++;
        return templateList.find((t) => t.templateId === templateId);
      },
      lastError: undefined,
      reload: () => false,
      close() {},
    },
  };
  return cluster;
}

/** Pod calls of one verb, by pod name. */
export function callsByPod(calls: PodCall[], verb: PodCall["verb"]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const call of calls) {
    if (call.verb === verb) counts.set(call.pod, (counts.get(call.pod) ?? 0) + 1);
  }
  return counts;
}
