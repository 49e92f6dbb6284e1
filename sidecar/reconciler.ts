// Carries out the plan (sidecar/provider/plan.ts) while this replica leads: creates pods through
// the rate limiter with expectations, so a lagging watch never causes a second create of the
// same machine; deletes pods; records findings; forgets expired records. Passes run on cache
// changes (debounced) and on a steady tick that drives timeouts.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ClusterState } from "./cluster-state.ts";
import { toKubeApiError } from "./kube/api-errors.ts";
import type { RateLimiter } from "./kube/rate-limiter.ts";
import type { RequestRecord } from "./provider/model.ts";
import { podName, podNameOfMachine } from "./provider/naming.ts";
import { type Plan, planReconcile } from "./provider/plan.ts";
import { podManifest } from "./provider/pod-manifest.ts";
import type { RecordApi } from "./record-store.ts";
import type { TemplatesSource } from "./templates-source.ts";

/** How often a pass runs without any change, to notice timeouts and expiries. */
export const RESYNC_INTERVAL_MS = 1_000;
/** Changes arriving this close together share one pass. */
const DEBOUNCE_MS = 20;
/** A create not seen in the cache after this long is assumed lost and may be tried again. */
export const EXPECTATION_TTL_MS = 5 * 60_000;
/**
 * Creates and deletes the reconciler has handed to the rate limiter and not yet seen answered.
 * The limiter serves in arrival order, so this keeps a burst of thousands from queueing ahead
 * of the handlers' record writes and the caches' lists: they wait behind at most this many.
 */
export const MAX_OUTSTANDING_CALLS = 64;

export interface ReconcilerSettings {
  instance: string;
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  retentionMs: number;
  /** The Pending timeout of requests whose template has since been removed. */
  defaultPendingTimeoutSeconds: number;
  /** Orphan pods are reported; with "delete" they are removed once `orphanGraceMs` has passed. */
  orphanPolicy: "report" | "delete";
  orphanGraceMs: number;
}

/** What the reconciler tells the rest of the sidecar (metrics, Events) as it acts. */
export interface ReconcilerHooks {
  podCreated?(requestId: string, templateId: string): void;
  /** Failures just recorded for a request, by machine index. */
  machinesFailed?(record: RequestRecord, failures: ReadonlyMap<number, string>): void;
  /** A request became final; `failed` counts its failed machines. */
  requestCompleted?(record: RequestRecord, failed: number): void;
}

interface WrittenFindings {
  failures: Map<number, string>;
  settled: boolean;
  completedAt?: number;
}

export interface Reconciler {
  start(): void;
  /** Stops passes; calls in flight finish on their own. */
  stop(): Promise<void>;
  readonly stats: {
    passes: number;
    creates: number;
    deletes: number;
    expectations: number;
    orphans: number;
  };
}

export function createReconciler(
  settings: ReconcilerSettings,
  state: ClusterState,
  templates: TemplatesSource,
  api: CoreV1Api,
  records: RecordApi,
  limiter: RateLimiter,
  logger: Logger,
  hooks: ReconcilerHooks = {},
): Reconciler {
  /** Pod name → when the expectation lapses. */
  const expected = new Map<string, number>();
  /** Creates the API server refused for good, kept until the record shows the failure. */
  const refused = new Map<string, { requestId: string; index: number; reason: string }>();
  const deleting = new Set<string>();
  /** Deletes the API server refused for good (webhook, RBAC), by pod: never tried again. */
  const undeletable = new Map<string, string>();
  let outstanding = 0;
  /** Aborted when leadership ends: queued calls are dropped, late answers are not acted on. */
  let term = new AbortController();
  /**
   * Findings this replica has written, by request, until the record cache shows them. Later
   * passes see them laid over the cached record, so a pass that runs before the watch delivers
   * a write never contradicts it (records "the pod was deleted" over the timeout that deleted it,
   * or fails machines of a request it already completed).
   */
  const written = new Map<string, WrittenFindings>();
  const lastCreateError = new Map<string, string>();
  /** Orphan pod name → when this replica first saw it orphaned. */
  const orphanSince = new Map<string, number>();
  const stats = { passes: 0, creates: 0, deletes: 0, expectations: 0, orphans: 0 };
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
  let tick: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let unsubscribe = () => {};

  const isExpected = (name: string): boolean => {
    const until = expected.get(name);
    if (until !== undefined && until < Date.now()) expected.delete(name);
    return expected.has(name) || refused.has(name);
  };

  const createPod = (item: Plan["create"][number]) => {
    const name = podName(settings.podNamePrefix, item.requestId, item.index);
    expected.set(name, Date.now() + EXPECTATION_TTL_MS);
    const body = podManifest({
      instance: settings.instance,
      podNamePrefix: settings.podNamePrefix,
      requestId: item.requestId,
      index: item.index,
      rcAccount: item.rcAccount,
      template: item.template,
    }) as unknown as V1Pod;
    const { signal } = term;
    outstanding++;
    limiter
      .schedule(() => api.createNamespacedPod({ namespace: settings.namespace, body }), signal, {
        verb: "create",
        resource: "pods",
      })
      .finally(() => {
        outstanding--;
      })
      .then(
        () => {
          if (signal.aborted) return;
          stats.creates++;
          lastCreateError.delete(item.requestId);
          hooks.podCreated?.(item.requestId, item.template.templateId);
        },
        (error) => {
          if (signal.aborted) return;
          const failure = toKubeApiError(error);
          if (failure.kind === "already-exists") return;
          expected.delete(name);
          lastCreateError.set(item.requestId, failure.message);
          if (failure.kind === "permanent") {
            refused.set(name, {
              requestId: item.requestId,
              index: item.index,
              reason: failure.message,
            });
            logger.warn(
              { requestId: item.requestId, pod: name, err: failure.message },
              "pod rejected",
            );
          } else {
            logger.info(
              { requestId: item.requestId, pod: name, err: failure.message },
              "pod create failed; will retry",
            );
          }
          trigger();
        },
      );
  };

  const deletePod = (name: string) => {
    const { signal } = term;
    deleting.add(name);
    outstanding++;
    limiter
      .schedule(() => api.deleteNamespacedPod({ name, namespace: settings.namespace }), signal, {
        verb: "delete",
        resource: "pods",
      })
      .then(
        () => {
          stats.deletes++;
        },
        (error) => {
          if (signal.aborted) return;
          const failure = toKubeApiError(error);
          if (failure.kind === "permanent") {
            undeletable.set(name, failure.message);
            logger.error({ pod: name, err: failure.message }, "pod delete refused; not retried");
          } else if (failure.kind !== "not-found") {
            logger.warn({ pod: name, err: failure.message }, "pod delete failed; will retry");
          }
        },
      )
      .finally(() => {
        outstanding--;
        deleting.delete(name);
        trigger();
      });
  };

  /** Refused creates and deletes become record findings, one patch per request. */
  const recordRefusals = (plan: Plan) => {
    const updates = new Map(plan.updates.map((u) => [u.requestId, u]));
    const fail = (requestId: string, index: number, reason: string) => {
      let update = updates.get(requestId);
      if (!update) {
        update = { requestId, failures: new Map() };
        updates.set(requestId, update);
        plan.updates.push(update);
      }
      update.failures.set(index, reason);
    };
    for (const [name, refusal] of refused) {
      const record = state.record(refusal.requestId);
      if (!record || record.failures[refusal.index] !== undefined) refused.delete(name);
      else fail(refusal.requestId, refusal.index, refusal.reason);
    }
    if (undeletable.size === 0) return;
    for (const record of state.records()) {
      if (record.kind !== "return" || record.completedAt !== undefined) continue;
      record.machines.forEach((machine, index) => {
        const reason = undeletable.get(podNameOfMachine(machine.name));
        if (reason !== undefined && record.failures[index] === undefined) {
          fail(record.requestId, index, `the pod could not be deleted: ${reason}`);
        }
      });
    }
  };

  /** The cached records, with what this replica wrote and the cache does not show yet. */
  function* withWritten(cached: Iterable<RequestRecord>): Iterable<RequestRecord> {
    for (const record of cached) {
      const findings = written.get(record.requestId);
      if (!findings) {
        yield record;
        continue;
      }
      const failures = { ...Object.fromEntries(findings.failures), ...record.failures };
      const completedAt = record.completedAt ?? findings.completedAt;
      const merged = { ...record, failures, ...(completedAt === undefined ? {} : { completedAt }) };
      yield merged.kind === "create"
        ? { ...merged, settled: merged.settled || findings.settled }
        : merged;
    }
  }

  /** Expectations end when the cache shows the pod; errors are kept only for live requests. */
  const prune = () => {
    for (const name of expected.keys()) if (state.pod(name)) expected.delete(name);
    for (const name of undeletable.keys()) if (!state.pod(name)) undeletable.delete(name);
    for (const [requestId, findings] of written) {
      const record = state.record(requestId);
      const shown =
        record &&
        [...findings.failures.keys()].every((i) => record.failures[i] !== undefined) &&
        (!findings.settled || record.kind !== "create" || record.settled) &&
        (findings.completedAt === undefined || record.completedAt !== undefined);
      if (!record || shown) written.delete(requestId);
    }
    for (const requestId of lastCreateError.keys()) {
      const record = state.record(requestId);
      if (!record || record.completedAt !== undefined) lastCreateError.delete(requestId);
    }
  };

  /** Reports new orphans once; under the delete policy, adds those past their grace to `plan`. */
  const handleOrphans = (plan: Plan, now: number) => {
    const current = new Set(plan.orphans);
    for (const name of orphanSince.keys()) if (!current.has(name)) orphanSince.delete(name);
    for (const name of plan.orphans) {
      const since = orphanSince.get(name);
      if (since === undefined) {
        orphanSince.set(name, now);
        logger.warn(
          { pod: name, policy: settings.orphanPolicy, graceSeconds: settings.orphanGraceMs / 1000 },
          "orphan pod: it carries our labels but belongs to no request",
        );
      } else if (settings.orphanPolicy === "delete" && now - since >= settings.orphanGraceMs) {
        if (!deleting.has(name) && !undeletable.has(name)) {
          logger.warn({ pod: name }, "deleting orphan pod after its grace period");
        }
        plan.delete.push(name);
      }
    }
    stats.orphans = orphanSince.size;
  };

  const runPass = async () => {
    const { signal } = term;
    stats.passes++;
    prune();
    const now = Date.now();
    const plan = planReconcile({
      records: withWritten(state.records()),
      pod: state.pod,
      pods: state.pods,
      hasRecord: (id) => state.record(id) !== undefined,
      hasPods: state.hasPods,
      template: templates.get,
      isReturning: state.isReturning,
      isExpected,
      lastCreateError: (id) => lastCreateError.get(id),
      podNamePrefix: settings.podNamePrefix,
      namespace: settings.namespace,
      clusterDomain: settings.clusterDomain,
      retentionMs: settings.retentionMs,
      defaultPendingTimeoutSeconds: settings.defaultPendingTimeoutSeconds,
      now,
    });
    recordRefusals(plan);
    handleOrphans(plan, now);
    // Deletes first: they free capacity and end returns; creates fill what room is left.
    for (const name of plan.delete) {
      if (outstanding >= MAX_OUTSTANDING_CALLS) break;
      if (!deleting.has(name) && !undeletable.has(name)) deletePod(name);
    }
    for (const item of plan.create) {
      if (outstanding >= MAX_OUTSTANDING_CALLS) break;
      createPod(item);
    }
    stats.expectations = expected.size;
    const writes = [
      ...plan.updates.map(async ({ requestId, ...findings }) => {
        await records.patch(requestId, findings, signal);
        const record = state.record(requestId);
        if (!record || signal.aborted) return;
        const known: WrittenFindings = written.get(requestId) ?? {
          failures: new Map(),
          settled: false,
        };
        written.set(requestId, known);
        const fresh = new Map([...findings.failures].filter(([i]) => !known.failures.has(i)));
        for (const [index, reason] of fresh) known.failures.set(index, reason);
        known.settled ||= findings.settled === true;
        if (fresh.size > 0) {
          logger.warn({ requestId, failures: Object.fromEntries(fresh) }, "machines failed");
          hooks.machinesFailed?.(record, fresh);
        }
        if (findings.completedAt !== undefined && known.completedAt === undefined) {
          known.completedAt = findings.completedAt;
          const indexes = [...Object.keys(record.failures), ...known.failures.keys()];
          const failed = new Set(indexes.map(String)).size;
          logger.info({ requestId, failed }, "request complete");
          hooks.requestCompleted?.(record, failed);
        }
      }),
      ...plan.forget.map(async (requestId) => {
        await records.remove(requestId, signal);
        logger.info({ requestId }, "expired request record removed");
      }),
    ];
    for (const result of await Promise.allSettled(writes)) {
      if (result.status === "rejected" && !signal.aborted) {
        logger.warn(
          { err: toKubeApiError(result.reason).message },
          "record update failed; will retry",
        );
      }
    }
  };

  const pass = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await runPass();
        } catch (error) {
          logger.error({ err: (error as Error).message }, "reconcile pass failed");
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  function trigger() {
    if (stopped || debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      void pass();
    }, DEBOUNCE_MS);
  }

  return {
    stats,
    start() {
      if (!stopped) return;
      stopped = false;
      term = new AbortController();
      unsubscribe = state.onChange(trigger);
      tick = setInterval(() => void pass(), RESYNC_INTERVAL_MS);
      trigger();
      logger.info("reconciler started");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Synchronously, so that a start() right after (leadership regained) begins a clean term.
      term.abort(new Error("leadership ended"));
      unsubscribe();
      clearInterval(tick);
      clearTimeout(debounce);
      debounce = undefined;
      for (const map of [expected, refused, undeletable, lastCreateError, orphanSince, written]) {
        map.clear();
      }
      await running;
      logger.info("reconciler stopped");
    },
  };
}
