// The status a request is answered with. A final one is stored in the request's record before
// anyone is given it: whoever stores first decides, and every replica answers that from then on.

import { ProviderError } from "../provider/errors.ts";
import type { FinalAnswer, RequestRecord } from "../provider/model.ts";
import {
  createRequestStatus,
  finalAnswerOf,
  type RequestStatus,
  returnRequestStatus,
  unknownRequestStatus,
} from "../provider/request-status.ts";
import type { ProviderContext } from "./provider-context.ts";

/** Tries at storing a final answer while other writes to the record come first. */
const MAX_FINALIZE_ATTEMPTS = 5;

export interface FinalAnswers {
  /**
   * The status to answer. One that is final is stored first; one that is running while the
   * caches catch up after a failed watch is checked against the record in the API server (if
   * `mayRead` allows one more read), where another replica may have stored the final answer.
   */
  statusOf(
    record: RequestRecord | undefined,
    requestId: string,
    mayRead?: () => boolean,
  ): Promise<RequestStatus>;
}

export function createFinalAnswers({
  settings,
  state,
  templates,
  store,
}: ProviderContext): FinalAnswers {
  /** Final answers this replica stored or read, until its record cache shows them. */
  const finals = new Map<string, FinalAnswer>();
  state.onChange((ids) => {
    for (const id of ids) {
      if (!finals.has(id)) continue;
      const cached = state.record(id);
      if (!cached || cached.final) finals.delete(id);
    }
  });
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
   * Stores the final answer the pods show: read the record with its resourceVersion, write
   * `final` on that version only, and on a conflict read again.
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

  return {
    async statusOf(record, requestId, mayRead = () => true) {
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
    },
  };
}
