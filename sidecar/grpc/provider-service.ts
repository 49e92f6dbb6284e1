// The five HostFactory operations (and the status stream) in the sidecar's own terms. Handlers
// are stateless: they read the caches and write request records; the reconciler does the rest.

import type { Attribute, Template } from "../../templates/parse.ts";
import type { Admission, Admitter } from "../controller/admission.ts";
import type { ClusterState } from "../controller/cluster-state.ts";
import type { ForeignPodNames } from "../kube/foreign-pods.ts";
import type { RecordStore } from "../kube/record-store.ts";
import { excerpt, listExcerpt, ProviderError } from "../provider/errors.ts";
import {
  type FinalAnswer,
  MAX_MACHINES_PER_REQUEST,
  type RequestRecord,
} from "../provider/model.ts";
import { newRequestId, podNameOfMachine, requestKindOf } from "../provider/naming.ts";
import {
  type PodQuotaProfile,
  podQuotaProfile,
  type QuotaLimit,
  quotaHeadroom,
} from "../provider/quota.ts";
import {
  type NewCreateRecord,
  type NewReturnRecord,
  recordConfigMap,
} from "../provider/records.ts";
import {
  createRequestStatus,
  finalAnswerOf,
  type RequestStatus,
  returnRequestStatus,
  unknownRequestStatus,
} from "../provider/request-status.ts";
import { type ReturnCandidate, returnCandidates } from "../provider/return-requests.ts";
import { type ReferenceLookup, templateReferences } from "../provider/template-references.ts";
import type { TemplatesSource } from "../templates-source.ts";

/** A reservation outlives its record's arrival in the cache by no more than this. */
const RESERVATION_TTL_MS = 60_000;
/** How long a WatchRequest gathers changes before it sends the request's status again. */
export const WATCH_COALESCE_MS = 100;
/** Ids not in the cache that one getRequestStatus call may look up in the API server. */
export const MAX_DIRECT_READS_PER_CALL = 10;
/** How long an id the API server does not have is answered unknown without asking again. */
const ABSENT_TTL_MS = 60_000;
/** Bound on the ids remembered as unknown. */
const MAX_ABSENT_IDS = 10_000;
/** Tries at storing a final answer while other writes to the record come first. */
const MAX_FINALIZE_ATTEMPTS = 5;

/** A Symphony consumer path is short; this keeps the pods' annotations far below their limit. */
export const MAX_RC_ACCOUNT_LENGTH = 1_024;
const HOST_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A machine name as we hand them out: a pod's hostname, or its FQDN. */
function isHostName(name: string): boolean {
  return name.length <= 253 && HOST_NAME.test(name);
}

/** The record operations the handlers use. */
export type HandlerRecords = Pick<
  RecordStore,
  "create" | "read" | "readVersioned" | "remove" | "fail" | "markAsked" | "storeFinal"
>;

export interface ProviderSettings {
  instance: string;
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  /** Most machines one requestMachines may ask for; default (and at most) MAX_MACHINES_PER_REQUEST. */
  maxRequestMachines?: number;
}

export interface TemplateAvailability {
  templateId: string;
  maxNumber: number;
  availableNumber: number;
  attributes: Record<string, Attribute>;
}

export interface MachineRef {
  name: string;
  machineId: string;
}

export interface ProviderService {
  getAvailableTemplates(): { templates: TemplateAvailability[]; message: string };
  /** `signal`: the call's cancellation or deadline; an id that cannot be delivered is not kept. */
  requestMachines(
    ask: { templateId: string; machineCount: number; rcAccount: string },
    signal?: AbortSignal,
  ): Promise<{ requestId: string; message: string }>;
  requestReturnMachines(
    machines: MachineRef[],
    signal?: AbortSignal,
  ): Promise<{ requestId: string; message: string }>;
  getRequestStatus(requestIds: string[]): Promise<RequestStatus[]>;
  getReturnRequests(
    machines: MachineRef[],
  ): Promise<{ requests: ReturnCandidate[]; message: string }>;
  /** Calls `send` with the status now and at every change; resolves after a final status. */
  watchRequest(
    requestId: string,
    send: (status: RequestStatus) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** Why the machines of a request whose call failed after its record was stored fail. */
const CANCELLED_REASON =
  "abandoned: the call was cancelled or ran past its deadline before its id was delivered";

function allFailed(count: number, reason: string): Map<number, string> {
  return new Map(Array.from({ length: count }, (_, index) => [index, reason]));
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const why = signal.reason instanceof Error ? signal.reason.message : "the call was cancelled";
  throw new ProviderError("cancelled", `${why}; nothing was kept`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** What the handlers use beside the caches and the record store. */
export interface ProviderDependencies {
  /** Pods of the namespace that are not ours, by name (getReturnRequests). */
  foreignPodNames: ForeignPodNames;
  /** Holds maxNumber across replicas. */
  admitter: Admitter;
  /** Finds the objects a template names (its PriorityClass, before a request is taken). */
  references: ReferenceLookup;
}

export function createProviderService(
  settings: ProviderSettings,
  state: ClusterState,
  templates: TemplatesSource,
  store: HandlerRecords,
  cluster: ProviderDependencies,
): ProviderService {
  const requireSynced = () => {
    if (!state.synced) {
      throw new ProviderError(
        "unavailable",
        "the sidecar is still loading the cluster's state; try again shortly",
      );
    }
  };

  /** Final answers this replica stored or read, until its record cache shows them. */
  const finals = new Map<string, FinalAnswer>();
  /** Requests this replica has noted HostFactory asked about, until the cache shows it. */
  const noted = new Set<string>();
  state.onChange((ids) => {
    for (const id of ids) {
      const cached = state.record(id);
      if (finals.has(id) && (!cached || cached.final)) finals.delete(id);
      if (noted.has(id) && (cached?.kind !== "create" || !cached.unasked)) noted.delete(id);
    }
  });
  /** The first question about a create request is written down: it is never abandoned. */
  const noteAsked = (record: RequestRecord | undefined): void => {
    if (record?.kind !== "create" || !record.unasked || noted.has(record.requestId)) return;
    noted.add(record.requestId);
    store.markAsked(record.requestId).catch(() => noted.delete(record.requestId));
  };
  const withFinal = (record: RequestRecord): RequestRecord => {
    const final = record.final ? undefined : finals.get(record.requestId);
    return final ? { ...record, final } : record;
  };

  /** What the pods and the record show; a stored final answer wins over the pods. */
  const computed = (stored: RequestRecord): RequestStatus => {
    const record = withFinal(stored);
    if (record.kind === "return") return returnRequestStatus(record, state.pod);
    return createRequestStatus(record, {
      podNamePrefix: settings.podNamePrefix,
      namespace: settings.namespace,
      clusterDomain: settings.clusterDomain,
      template: templates.get(record.templateId),
      pod: state.pod,
      isReturning: state.isReturning,
      lastSeen: state.lastSeen,
    });
  };

  /**
   * Stores the final answer the pods show before anyone is given it: read the record with its
   * resourceVersion, write `final` on that version only, and on a conflict read again. Whoever
   * stores first decides; every replica answers that from then on.
   */
  const storeFinal = async (cached: RequestRecord): Promise<RequestStatus> => {
    const { requestId } = cached;
    for (let attempt = 0; attempt < MAX_FINALIZE_ATTEMPTS; attempt++) {
      const fresh = await store.readVersioned(requestId);
      // Gone meanwhile (its retention ended): what it showed last is all there is.
      if (!fresh) return computed(cached);
      const status = computed(fresh.record);
      if (fresh.record.final) {
        finals.set(requestId, fresh.record.final);
        return status;
      }
      if (status.status === "running") return status;
      const final = finalAnswerOf(status, Date.now());
      if (await store.storeFinal(fresh.record, final, fresh.resourceVersion)) {
        finals.set(requestId, final);
        return computed(fresh.record);
      }
    }
    throw new ProviderError(
      "unavailable",
      `the final status of ${requestId} is being written by another replica; try again shortly`,
    );
  };
  /** One store per request at a time, however many calls ask. */
  const storing = new Map<string, Promise<RequestStatus>>();

  /**
   * The status to answer. One that is final is stored first; one that is running while the
   * caches catch up after a failed watch is checked against the record in the API server (if
   * `mayRead` allows one more read), where another replica may have stored the final answer.
   */
  const statusOf = async (
    record: RequestRecord | undefined,
    requestId: string,
    mayRead: () => boolean = () => true,
  ): Promise<RequestStatus> => {
    if (!record) return unknownRequestStatus(requestId);
    const status = computed(record);
    if (withFinal(record).final) return status;
    if (status.status === "running") {
      if (!state.catchingUp || !mayRead()) return status;
      const fresh = await store.readVersioned(requestId);
      if (!fresh?.record.final) return status;
      finals.set(requestId, fresh.record.final);
      return computed(fresh.record);
    }
    let pending = storing.get(requestId);
    if (!pending) {
      pending = storeFinal(record).finally(() => storing.delete(requestId));
      storing.set(requestId, pending);
    }
    return pending;
  };

  /** Ids the API server said it does not have, until when that answer is trusted. */
  const absent = new Map<string, number>();
  /**
   * From the cache, or (just written by another replica, not yet watched) from the API. A record
   * is written before its id is handed out, so an id the API server lacks stays unknown: that
   * answer is remembered for a while, so polling an unknown id costs no API call each time.
   */
  const findRecord = async (
    requestId: string,
    mayRead = true,
  ): Promise<RequestRecord | undefined> => {
    if (!requestKindOf(requestId)) return undefined;
    const cached = state.record(requestId);
    const now = Date.now();
    if (cached || !mayRead || (absent.get(requestId) ?? 0) > now) return cached;
    const read = await store.read(requestId);
    if (!read) {
      if (absent.size >= MAX_ABSENT_IDS) {
        for (const [id, until] of absent) if (until <= now) absent.delete(id);
      }
      if (absent.size < MAX_ABSENT_IDS) absent.set(requestId, now + ABSENT_TTL_MS);
    }
    return read;
  };

  /**
   * Machines accepted by this replica whose record the cache does not show yet, by request: they
   * count against maxNumber, so two requests at once cannot both take the last machines.
   */
  const reserved = new Map<string, { templateId: string; count: number; until: number }>();
  const reservedCount = (templateId: string): number => {
    let total = 0;
    const now = Date.now();
    for (const [requestId, reservation] of reserved) {
      if (state.record(requestId) || reservation.until < now) reserved.delete(requestId);
      else if (reservation.templateId === templateId) total += reservation.count;
    }
    return total;
  };

  /** What a template's pod is to the quotas, worked out once per loaded template. */
  const profiles = new WeakMap<Template, PodQuotaProfile>();
  const profileOf = (template: Template): PodQuotaProfile => {
    let profile = profiles.get(template);
    if (!profile) {
      profile = podQuotaProfile(template.pod.spec);
      profiles.set(template, profile);
    }
    return profile;
  };
  /** The quota that admits the fewest more machines of the template, if any limits it. Machines
   * accepted and not created yet, of every template, are counted against it: admission adds a
   * pod to a quota's usage only when the pod is created. */
  const quotaLimit = (template: Template): QuotaLimit | undefined => {
    const quotas = [...state.quotas()];
    if (quotas.length === 0) return undefined;
    const uncounted = templates.templates
      .map((t) => ({
        profile: profileOf(t),
        count: state.machinesNotCreated(t.templateId) + reservedCount(t.templateId),
      }))
      .filter(({ count }) => count > 0);
    return quotaHeadroom(profileOf(template), quotas, uncounted);
  };

  /** Machines of the template that may still be asked for (-1: no limit), and the quota that
   * allows fewer than maxNumber does, if one does. */
  const availability = (template: Template): { available: number; quota?: QuotaLimit } => {
    const { templateId, maxNumber } = template;
    const byMaxNumber =
      maxNumber === -1
        ? -1
        : Math.max(0, maxNumber - state.machinesInUse(templateId) - reservedCount(templateId));
    const quota = quotaLimit(template);
    if (!quota || (byMaxNumber !== -1 && byMaxNumber <= quota.machines)) {
      return { available: byMaxNumber };
    }
    return { available: quota.machines, quota };
  };

  /**
   * Stores a new request's record for a call. A call cancelled or past its deadline by then
   * cannot deliver the id, so nothing of it is kept: a return's record is removed; a create's
   * machines all fail at once, so that pods the leader may have created meanwhile are deleted
   * (were that write lost too, a create request nobody asks about is abandoned later).
   */
  const storeForCall = async (
    record: NewCreateRecord | NewReturnRecord,
    signal: AbortSignal | undefined,
  ): Promise<void> => {
    throwIfCancelled(signal);
    await store.create(recordConfigMap(settings.instance, record));
    if (!signal?.aborted) return;
    const undo =
      record.kind === "create"
        ? store.fail(record.requestId, allFailed(record.machineCount, CANCELLED_REASON))
        : store.remove(record.requestId);
    await undo.catch(() => {});
    throwIfCancelled(signal);
  };

  /** Grants the machines across replicas, or says why not. */
  const admit = async (
    requestId: string,
    templateId: string,
    maxNumber: number,
    count: number,
  ): Promise<void> => {
    let admission: Admission;
    try {
      admission = await cluster.admitter.admit(requestId, templateId, maxNumber, count);
    } catch (error) {
      throw new ProviderError(
        "unavailable",
        `cannot reserve machines of template '${templateId}': ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (admission.granted) return;
    if ("contended" in admission) {
      throw new ProviderError(
        "unavailable",
        `too many requests for template '${templateId}' at once; try again shortly`,
      );
    }
    throw new ProviderError(
      "resource-exhausted",
      `template '${templateId}' has ${admission.available} of ${maxNumber} machines available; ${count} requested`,
    );
  };

  /**
   * Refuses a template whose PriorityClass does not exist: the API server would refuse each of
   * its pods. When the lookup cannot tell (no permission, API trouble), the request goes ahead.
   */
  const requirePriorityClass = async (templateId: string, spec: Record<string, unknown>) => {
    const reference = templateReferences(spec).find((r) => r.kind === "PriorityClass");
    if (!reference) return;
    const finding = await cluster.references(reference);
    if (finding.state !== "missing") return;
    throw new ProviderError(
      "failed-precondition",
      `template '${templateId}' names PriorityClass '${reference.name}', which does not exist in the cluster, so every pod of it would be refused; nothing was requested. Create the PriorityClass (see examples/priority-classes.yaml) or correct the template's priorityClassName`,
    );
  };

  return {
    getAvailableTemplates() {
      requireSynced();
      const limits: string[] = [];
      const list = templates.templates.map((t) => {
        const { available, quota } = availability(t);
        if (quota) {
          limits.push(
            ` ${t.templateId}: ResourceQuota '${quota.quota}' admits ${plural(quota.machines, "more machine")} (${quota.detail}).`,
          );
        }
        return {
          templateId: t.templateId,
          maxNumber: t.maxNumber,
          availableNumber: available,
          attributes: t.attributes,
        };
      });
      const message = `${plural(list.length, "template")} available.${limits.join("")}`;
      return { templates: list, message };
    },

    async requestMachines({ templateId, machineCount, rcAccount }, signal) {
      requireSynced();
      const template = templates.get(templateId);
      if (!template) {
        const known = templates.templates.map((t) => t.templateId).join(", ");
        throw new ProviderError(
          "not-found",
          `template '${excerpt(templateId)}' not found; available: ${known}`,
        );
      }
      if (!Number.isInteger(machineCount) || machineCount < 1) {
        throw new ProviderError(
          "invalid-argument",
          `machineCount must be a positive integer, found ${machineCount}`,
        );
      }
      if (rcAccount.length > MAX_RC_ACCOUNT_LENGTH) {
        throw new ProviderError(
          "invalid-argument",
          `rc_account is ${rcAccount.length} characters long; at most ${MAX_RC_ACCOUNT_LENGTH} are kept`,
        );
      }
      const limit = settings.maxRequestMachines ?? MAX_MACHINES_PER_REQUEST;
      if (machineCount > limit) {
        throw new ProviderError(
          "invalid-argument",
          `machineCount ${machineCount} is over the limit of ${limit} machines per request (the sidecar's --max-request-machines)`,
        );
      }
      await requirePriorityClass(templateId, template.pod.spec);
      const { available, quota } = availability(template);
      if (quota && machineCount > available) {
        throw new ProviderError(
          "resource-exhausted",
          `template '${templateId}' has ${plural(available, "machine")} available under ResourceQuota '${quota.quota}' in namespace ${settings.namespace} (${quota.detail}); ${machineCount} requested`,
        );
      }
      if (available !== -1 && machineCount > available) {
        throw new ProviderError(
          "resource-exhausted",
          `template '${templateId}' has ${available} of ${template.maxNumber} machines available; ${machineCount} requested`,
        );
      }
      const record: NewCreateRecord = {
        kind: "create",
        requestId: newRequestId("create"),
        templateId,
        machineCount,
        rcAccount,
      };
      // Reserved before the first await, so that the check above and this are one step.
      const until = Date.now() + RESERVATION_TTL_MS;
      reserved.set(record.requestId, { templateId, count: machineCount, until });
      const limited = template.maxNumber !== -1;
      try {
        throwIfCancelled(signal);
        if (limited) await admit(record.requestId, templateId, template.maxNumber, machineCount);
        await storeForCall(record, signal);
      } catch (error) {
        reserved.delete(record.requestId);
        if (limited) await cluster.admitter.release(record.requestId).catch(() => {});
        throw error;
      }
      return {
        requestId: record.requestId,
        message: `Request for ${plural(machineCount, "machine")} of template ${templateId} accepted.`,
      };
    },

    async requestReturnMachines(machines, signal) {
      requireSynced();
      if (machines.length === 0) {
        throw new ProviderError("invalid-argument", "no machines to return");
      }
      const badNames = machines.filter((machine) => !isHostName(machine.name));
      if (badNames.length > 0) {
        throw new ProviderError(
          "invalid-argument",
          `not machine names of provider instance '${settings.instance}': ${listExcerpt(badNames.map((m) => m.name))}`,
        );
      }
      // A host whose pod is gone is returned whatever its name (one of an earlier prefix, or of
      // the provider this one replaces); a live pod that is not ours is never ours to delete.
      const unknown = machines.filter((machine) => !state.pod(podNameOfMachine(machine.name)));
      if (unknown.length > 0) {
        const elsewhere = await cluster.foreignPodNames().catch((error: Error) => {
          throw new ProviderError(
            "unavailable",
            `cannot tell whether ${listExcerpt(unknown.map((m) => m.name))} still run: ${error.message}`,
            { cause: error },
          );
        });
        const notOurs = unknown.filter((m) => elsewhere.has(podNameOfMachine(m.name)));
        if (notOurs.length > 0) {
          throw new ProviderError(
            "invalid-argument",
            `not machines of provider instance '${settings.instance}': ${listExcerpt(notOurs.map((m) => m.name))} (their pods are someone else's and never deleted by this provider; once they are gone, getReturnRequests reports them)`,
          );
        }
      }
      const unique = [...new Map(machines.map((m) => [podNameOfMachine(m.name), m])).values()];
      const record: NewReturnRecord = {
        kind: "return",
        requestId: newRequestId("return"),
        machines: unique.map(({ name, machineId }) => ({ name, machineId })),
      };
      await storeForCall(record, signal);
      return {
        requestId: record.requestId,
        message: `Return of ${plural(unique.length, "machine")} accepted.`,
      };
    },

    async getRequestStatus(requestIds) {
      requireSynced();
      // A few direct reads per call at most: a call naming thousands of unknown ids must not
      // queue thousands of API reads ahead of the reconciler's work.
      let reads = 0;
      return Promise.all(
        requestIds.map(async (id) => {
          const mayRead =
            requestKindOf(id) !== undefined &&
            !state.record(id) &&
            reads++ < MAX_DIRECT_READS_PER_CALL;
          const record = await findRecord(id, mayRead);
          noteAsked(record);
          return await statusOf(record, id, () => reads++ < MAX_DIRECT_READS_PER_CALL);
        }),
      );
    },

    async getReturnRequests(machines) {
      requireSynced();
      // Only hosts with no pod of ours need the list of the namespace's other pods.
      const unknown = machines.some((machine) => {
        const name = podNameOfMachine(machine.name);
        return !state.pod(name) && !state.isReturning(name);
      });
      let elsewhere: ReadonlySet<string> | undefined;
      if (unknown) elsewhere = await cluster.foreignPodNames().catch(() => undefined);
      const requests = returnCandidates(machines, {
        podNamePrefix: settings.podNamePrefix,
        pod: state.pod,
        node: state.node,
        isReturning: state.isReturning,
        existsElsewhere: (name) => elsewhere?.has(name),
        now: Date.now(),
      });
      const message =
        requests.length === 0
          ? "No machine is being taken back by the cluster."
          : `${plural(requests.length, "machine")} ${requests.length === 1 ? "is" : "are"} being taken back by the cluster.`;
      return { requests, message };
    },

    async watchRequest(requestId, send, signal) {
      requireSynced();
      let last = "";
      let final = false;
      let record = await findRecord(requestId);
      noteAsked(record);
      const emit = async () => {
        const status = await statusOf(record, requestId);
        const text = JSON.stringify(status);
        if (text !== last && !signal.aborted) send(status);
        last = text;
        final = status.status !== "running";
      };
      await emit();
      if (final || signal.aborted) return;
      await new Promise<void>((resolve, reject) => {
        // Changes are coalesced: a burst of pod events costs one status, not one per event.
        let pending: NodeJS.Timeout | undefined;
        let busy = false;
        let dirty = false;
        const finish = (error?: unknown) => {
          clearTimeout(pending);
          unsubscribe();
          signal.removeEventListener("abort", stop);
          if (error) reject(error);
          else resolve();
        };
        const stop = () => finish();
        const schedule = () => {
          pending = setTimeout(() => {
            pending = undefined;
            busy = true;
            record = state.record(requestId) ?? record;
            emit().then(
              () => {
                busy = false;
                if (final) finish();
                else if (dirty) {
                  dirty = false;
                  schedule();
                }
              },
              (error: unknown) => finish(error),
            );
          }, WATCH_COALESCE_MS);
        };
        const unsubscribe = state.onChange((ids) => {
          if (!ids.has(requestId)) return;
          if (busy) dirty = true;
          else if (!pending) schedule();
        });
        signal.addEventListener("abort", stop);
      });
    },
  };
}
