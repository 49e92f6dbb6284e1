// Carries out the plan (sidecar/provider/plan.ts) while this replica leads: creates and deletes
// pods with expectations, so a lagging watch never causes a second call about the same pod;
// retries failed calls per pod with backoff, so a broken API server is not flooded; records
// findings; forgets expired records. A pass triggered by cache changes (debounced, longer while
// the calls in flight are at their cap) plans only the requests those changes touched; a steady
// tick plans everything, to drive timeouts and expiry.
import type { Logger } from "pino";
import { podManifest } from "../../templates/pod-manifest.ts";
import { toKubeApiError } from "../kube/api-errors.ts";
import type { PodWriter } from "../kube/pod-writer.ts";
import type { RecordStore } from "../kube/record-store.ts";
import { cannotStart, type FailFastPolicy } from "../provider/fast-failure.ts";
import type { RequestRecord } from "../provider/model.ts";
import { parsePodName, podName, podNameOfMachine } from "../provider/naming.ts";
import { type Plan, planReconcile } from "../provider/plan.ts";
import type { TemplatesSource } from "../templates-source.ts";
import type { ClusterState } from "./cluster-state.ts";
import { createExpectations } from "./expectations.ts";
import { createFailureBackoff, DEFAULT_MAX_RETRY_DELAY_MS } from "./failure-backoff.ts";
import { createOrphanTracker } from "./orphan-tracker.ts";
import { createWrittenFindings } from "./written-findings.ts";

/** The timer tick of the full pass, which plans every request to notice timeouts and expiries. */
export const FULL_PASS_TICK_MS = 1_000;
/** Changes arriving this close together share one pass. */
const DEBOUNCE_MS = 20;
/**
 * Changes arriving this close together share one pass while at least half the outstanding calls
 * allowed are still unanswered: such a pass has little room to send anything new, and what it
 * would record can wait this long, so a burst held back by the rate limit is not re-planned on
 * every event (CPU that grew with throttling).
 */
const BUSY_DEBOUNCE_MS = 250;
/**
 * Creates and deletes the reconciler has handed to the rate limiter and not yet seen answered.
 * The limiter serves in arrival order, so this keeps a burst of thousands from queueing ahead
 * of the handlers' record writes and the caches' lists: they wait behind at most this many.
 */
export const MAX_OUTSTANDING_CALLS = 64;
/**
 * How long the reconciler looks for the Preempted Event that names a victim's preemptor: the
 * scheduler records it after the delete, and Events are sent in batches. After this the machine
 * fails with the scheduler's own words instead.
 */
export const PREEMPTOR_LOOKUP_MS = 10_000;

export interface ReconcilerSettings {
  instance: string;
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  retentionMs: number;
  /** The Pending timeout of requests whose template has since been removed. */
  defaultPendingTimeoutSeconds: number;
  /** Which waiting reasons fail a machine before its Pending timeout, and after how long. */
  failFast: FailFastPolicy;
  /** Orphan pods are reported; with "delete" they are removed once `orphanGraceMs` has passed. */
  orphanPolicy: "report" | "delete";
  orphanGraceMs: number;
  /** The longest delay between tries of a failing create or delete; default
   * {@link DEFAULT_MAX_RETRY_DELAY_MS}. */
  maxRetryDelayMs?: number;
}

/** What the reconciler tells the rest of the sidecar (metrics, Events) as it acts. */
export interface ReconcilerHooks {
  podCreated?(requestId: string, templateId: string): void;
  /** Failures just recorded for a request, by machine index. */
  machinesFailed?(record: RequestRecord, failures: ReadonlyMap<number, string>): void;
  /** A request became final; `failed` counts its failed machines. */
  requestCompleted?(record: RequestRecord, failed: number): void;
}

export interface Reconciler {
  start(): void;
  /** Stops passes; calls in flight finish on their own. */
  stop(): Promise<void>;
  readonly stats: {
    passes: number;
    creates: number;
    deletes: number;
    /** Creates and deletes not yet seen in the cache. */
    expectations: number;
    /** Pods whose create or delete failed and is being retried with backoff. */
    retrying: number;
    orphans: number;
  };
}

/** Records in the order their requests were accepted, so that a later request never starves an
 * earlier one of create calls (cache order is not acceptance order: a relist sorts by name). */
function inAcceptedOrder(records: Iterable<RequestRecord>): RequestRecord[] {
  return [...records].sort(
    (a, b) =>
      a.createdAt - b.createdAt ||
      (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0),
  );
}

export function createReconciler(
  settings: ReconcilerSettings,
  state: ClusterState,
  templates: TemplatesSource,
  pods: PodWriter,
  records: RecordStore,
  logger: Logger,
  hooks: ReconcilerHooks = {},
): Reconciler {
  const now = () => Date.now();
  const maxDelayMs = settings.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
  /** Pods created (or being created) that the cache does not show yet. */
  const creating = createExpectations({ now });
  /** Pods deleted (or being deleted) that the cache does not yet show going or gone. */
  const deleting = createExpectations({ now });
  const createRetries = createFailureBackoff({ maxDelayMs, now });
  const deleteRetries = createFailureBackoff({ maxDelayMs, now });
  /** Creates the API server refused for good, kept until the record shows the failure. */
  const refused = new Map<string, { requestId: string; index: number; reason: string }>();
  /** Deletes the API server refused for good (webhook, RBAC), by pod: never tried again. */
  const undeletable = new Map<string, string>();
  let outstanding = 0;
  /** Aborted when leadership ends: queued calls are dropped, late answers are not acted on. */
  let term = new AbortController();
  /**
   * Findings this replica has written, until the record cache shows them, laid over the cached
   * records when planning: a pass before the watch delivers a write never contradicts it
   * (records "the pod was deleted" over the timeout that deleted it, or fails machines of a
   * request it already completed).
   */
  const written = createWrittenFindings();
  const lastCreateError = new Map<string, string>();
  const orphans = createOrphanTracker({ graceMs: settings.orphanGraceMs });
  /** Pod name → since when this replica has seen it show a listed waiting reason, unbroken. */
  const cannotStartSince = new Map<string, number>();
  /** Preempted pod name → its preemptor ("" when not learned), once known. */
  const preemptors = new Map<string, string>();
  /** Preempted pod name → since when its preemptor has been looked for; and lookups in flight. */
  const preemptorSought = new Map<string, number>();
  const preemptorLookups = new Set<string>();
  /** Requests to plan in the next pass: those the cache changes touched, and those with work
   * left undone (calls held back by the cap on outstanding calls, retries come due). */
  let dirty = new Set<string>();
  /** Pods to delete that were held back by the cap, or whose retry came due. */
  const deferredDeletes = new Set<string>();
  let fullPassDue = true;
  const stats = {
    passes: 0,
    creates: 0,
    deletes: 0,
    expectations: 0,
    retrying: 0,
    orphans: 0,
  };
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
  let tick: NodeJS.Timeout | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryTimerAt = Number.POSITIVE_INFINITY;
  let unsubscribe = () => {};

  const isExpected = (name: string): boolean => creating.has(name) || refused.has(name);

  /** Marks the work whose retry delay is over, and plans it. */
  const wakeDueRetries = () => {
    for (const name of createRetries.keys()) {
      if (createRetries.isWaiting(name)) continue;
      const machine = parsePodName(settings.podNamePrefix, name);
      if (machine) dirty.add(machine.requestId);
    }
    for (const name of deleteRetries.keys()) {
      if (!deleteRetries.isWaiting(name)) deferredDeletes.add(name);
    }
    trigger();
  };

  /** One timer, at the earliest retry due. */
  const scheduleRetries = () => {
    const next = Math.min(
      createRetries.nextRetryAt() ?? Number.POSITIVE_INFINITY,
      deleteRetries.nextRetryAt() ?? Number.POSITIVE_INFINITY,
    );
    if (stopped || next === Number.POSITIVE_INFINITY || next >= retryTimerAt) return;
    clearTimeout(retryTimer);
    retryTimerAt = next;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retryTimerAt = Number.POSITIVE_INFINITY;
      wakeDueRetries();
    }, next - now());
  };

  const createPod = (item: Plan["create"][number]) => {
    const name = podName(settings.podNamePrefix, item.requestId, item.index);
    creating.expect(name);
    const body = podManifest({
      instance: settings.instance,
      podNamePrefix: settings.podNamePrefix,
      requestId: item.requestId,
      index: item.index,
      rcAccount: item.rcAccount,
      template: item.template,
    });
    const { signal } = term;
    outstanding++;
    pods
      .create(body, signal)
      .finally(() => {
        outstanding--;
      })
      .then(
        () => {
          if (signal.aborted) return;
          stats.creates++;
          createRetries.forget(name);
          lastCreateError.delete(item.requestId);
          hooks.podCreated?.(item.requestId, item.template.templateId);
        },
        (error) => {
          if (signal.aborted) return;
          const failure = toKubeApiError(error);
          if (failure.kind === "already-exists") {
            createRetries.forget(name);
            return;
          }
          creating.satisfy(name);
          lastCreateError.set(item.requestId, failure.message);
          const log = { requestId: item.requestId, pod: name, err: failure.message };
          if (failure.kind === "permanent") {
            createRetries.forget(name);
            refused.set(name, {
              requestId: item.requestId,
              index: item.index,
              reason: failure.message,
            });
            logger.warn(log, "pod rejected");
            dirty.add(item.requestId);
            trigger();
            return;
          }
          const retryInMs = createRetries.failed(name) - now();
          logger.info(
            { ...log, retryInMs, failures: createRetries.failures(name) },
            "pod create failed; will retry",
          );
          scheduleRetries();
        },
      );
  };

  const deletePod = (name: string) => {
    const { signal } = term;
    deleting.expect(name);
    outstanding++;
    pods
      .delete(name, signal)
      .then(
        () => {
          stats.deletes++;
          if (!signal.aborted) deleteRetries.forget(name);
        },
        (error) => {
          if (signal.aborted) return;
          const failure = toKubeApiError(error);
          // Gone already: the expectation holds until the cache shows it gone too.
          if (failure.kind === "not-found") {
            deleteRetries.forget(name);
            return;
          }
          deleting.satisfy(name);
          if (failure.kind === "permanent") {
            deleteRetries.forget(name);
            undeletable.set(name, failure.message);
            logger.error({ pod: name, err: failure.message }, "pod delete refused; not retried");
            return;
          }
          const retryInMs = deleteRetries.failed(name) - now();
          logger.warn(
            { pod: name, err: failure.message, retryInMs, failures: deleteRetries.failures(name) },
            "pod delete failed; will retry",
          );
          scheduleRetries();
        },
      )
      .finally(() => {
        outstanding--;
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

  /** Whether a failed create of `name` still matters: its machine is still wanted and absent. */
  const stillToCreate = (name: string): boolean => {
    const machine = parsePodName(settings.podNamePrefix, name);
    const record = machine && state.record(machine.requestId);
    return (
      record?.kind === "create" &&
      record.completedAt === undefined &&
      record.failures[machine?.index ?? -1] === undefined &&
      !state.pod(name) &&
      !state.isReturning(name)
    );
  };

  /** Expectations end when the cache shows their effect; errors and retries are kept only for
   * what is still to be done. */
  const prune = () => {
    for (const name of creating.keys()) if (state.pod(name)) creating.satisfy(name);
    for (const name of deleting.keys()) {
      const pod = state.pod(name);
      if (!pod || pod.deletingAt !== undefined) deleting.satisfy(name);
    }
    for (const name of createRetries.keys()) if (!stillToCreate(name)) createRetries.forget(name);
    for (const name of deleteRetries.keys()) if (!state.pod(name)) deleteRetries.forget(name);
    for (const name of undeletable.keys()) if (!state.pod(name)) undeletable.delete(name);
    written.prune(state.record);
    // A pod seen without a listed reason (started, pulling again, gone) starts its clock anew.
    for (const name of cannotStartSince.keys()) {
      const pod = state.pod(name);
      if (!pod || !cannotStart(pod, settings.failFast.reasons)) cannotStartSince.delete(name);
    }
    for (const name of new Set([...preemptors.keys(), ...preemptorSought.keys()])) {
      if (state.lastSeen(name)?.preempted === undefined) {
        preemptors.delete(name);
        preemptorSought.delete(name);
      }
    }
    for (const requestId of lastCreateError.keys()) {
      const record = state.record(requestId);
      if (!record || record.completedAt !== undefined) lastCreateError.delete(requestId);
    }
  };

  /** Looks up who preempted each pod in `names` (one lookup at a time per pod); the pass after
   * an answer, or after {@link PREEMPTOR_LOOKUP_MS} without one, fails its machine. */
  const lookUpPreemptors = (names: string[], at: number, signal: AbortSignal) => {
    for (const name of names) {
      if (preemptors.has(name) || preemptorLookups.has(name)) continue;
      const since = preemptorSought.get(name) ?? at;
      preemptorSought.set(name, since);
      if (!pods.preemptor || at - since >= PREEMPTOR_LOOKUP_MS) {
        preemptors.set(name, "");
        continue;
      }
      preemptorLookups.add(name);
      pods
        .preemptor(name, signal)
        .then(
          (preemptor) => {
            if (preemptor !== undefined && !signal.aborted) preemptors.set(name, preemptor);
          },
          (error: unknown) => {
            if (signal.aborted) return;
            const err = toKubeApiError(error).message;
            logger.warn({ pod: name, err }, "could not read who preempted the pod; will retry");
          },
        )
        .finally(() => {
          preemptorLookups.delete(name);
          const requestId =
            state.pod(name)?.requestId ?? parsePodName(settings.podNamePrefix, name)?.requestId;
          if (requestId && !signal.aborted) dirty.add(requestId);
          trigger();
        });
    }
  };

  /** Reports new orphans once; under the delete policy, adds those past their grace to `plan`. */
  const handleOrphans = (plan: Plan, at: number) => {
    const { found, due } = orphans.observe(plan.orphans, at);
    for (const name of found) {
      logger.warn(
        { pod: name, policy: settings.orphanPolicy, graceSeconds: settings.orphanGraceMs / 1000 },
        "orphan pod: it carries our labels but belongs to no request",
      );
    }
    if (settings.orphanPolicy === "delete") {
      for (const name of due) {
        if (!deleting.has(name) && !undeletable.has(name) && !deleteRetries.isWaiting(name)) {
          logger.warn({ pod: name }, "deleting orphan pod after its grace period");
        }
        plan.delete.push(name);
      }
    }
    stats.orphans = orphans.size;
  };

  /** Deletes first: they free capacity and end returns; creates fill what room is left. */
  const carryOut = (plan: Plan) => {
    const deletes = new Set([...deferredDeletes, ...plan.delete]);
    deferredDeletes.clear();
    for (const name of deletes) {
      const pod = state.pod(name);
      if (!pod || pod.deletingAt !== undefined || deleting.has(name)) continue;
      if (undeletable.has(name) || deleteRetries.isWaiting(name)) continue;
      if (outstanding >= MAX_OUTSTANDING_CALLS) deferredDeletes.add(name);
      else deletePod(name);
    }
    for (const item of plan.create) {
      const name = podName(settings.podNamePrefix, item.requestId, item.index);
      if (createRetries.isWaiting(name)) continue;
      if (outstanding >= MAX_OUTSTANDING_CALLS) dirty.add(item.requestId);
      else createPod(item);
    }
  };

  const recordFindings = async (plan: Plan, signal: AbortSignal) => {
    const writes = [
      ...plan.updates.map(async ({ requestId, ...findings }) => {
        await records.patch(requestId, findings, signal);
        const record = state.record(requestId);
        if (!record || signal.aborted) return;
        const { fresh, completed } = written.note(requestId, findings);
        if (fresh.size > 0) {
          logger.warn({ requestId, failures: Object.fromEntries(fresh) }, "machines failed");
          hooks.machinesFailed?.(record, fresh);
        }
        if (completed) {
          const failed = written.failedCount(record);
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

  const runPass = async (full: boolean) => {
    const { signal } = term;
    stats.passes++;
    prune();
    const at = now();
    const touched = dirty;
    dirty = new Set();
    const planned = full ? state.records() : [...touched].flatMap((id) => state.record(id) ?? []);
    const plan = planReconcile({
      records: written.overlay(inAcceptedOrder(planned)),
      pod: state.pod,
      // Orphans are looked for on full passes only: no change to one request makes them.
      pods: full ? state.pods : () => [],
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
      failFast: settings.failFast,
      cannotStartSince: (name) => cannotStartSince.get(name),
      lastSeen: state.lastSeen,
      preemptor: (name) => preemptors.get(name),
      now: at,
    });
    lookUpPreemptors(plan.preempted, at, signal);
    for (const name of plan.cannotStart) {
      if (!cannotStartSince.has(name)) cannotStartSince.set(name, at);
    }
    recordRefusals(plan);
    if (full) handleOrphans(plan, at);
    carryOut(plan);
    stats.expectations = creating.size + deleting.size;
    stats.retrying = createRetries.size + deleteRetries.size;
    scheduleRetries();
    await recordFindings(plan, signal);
  };

  const pass = async (full = false): Promise<void> => {
    fullPassDue ||= full;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        const planAll = fullPassDue;
        fullPassDue = false;
        try {
          await runPass(planAll);
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
    debounce = setTimeout(
      () => {
        debounce = undefined;
        void pass();
      },
      outstanding >= MAX_OUTSTANDING_CALLS / 2 ? BUSY_DEBOUNCE_MS : DEBOUNCE_MS,
    );
  }

  return {
    stats,
    start() {
      if (!stopped) return;
      stopped = false;
      term = new AbortController();
      fullPassDue = true;
      unsubscribe = state.onChange((requestIds) => {
        for (const id of requestIds) dirty.add(id);
        trigger();
      });
      tick = setInterval(() => void pass(true), FULL_PASS_TICK_MS);
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
      clearTimeout(retryTimer);
      debounce = undefined;
      retryTimer = undefined;
      retryTimerAt = Number.POSITIVE_INFINITY;
      for (const pending of [creating, deleting, createRetries, deleteRetries]) pending.clear();
      for (const map of [refused, undeletable, lastCreateError, orphans, written]) map.clear();
      cannotStartSince.clear();
      preemptors.clear();
      preemptorSought.clear();
      preemptorLookups.clear();
      dirty.clear();
      deferredDeletes.clear();
      await running;
      logger.info("reconciler stopped");
    },
  };
}
