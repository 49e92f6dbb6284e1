// getRequestStatus: the status of each request asked about.

import { requestKindOf } from "../provider/naming.ts";
import type { RequestStatus } from "../provider/request-status.ts";
import type { FinalAnswers } from "./final-answers.ts";
import { type ProviderContext, requireSynced } from "./provider-context.ts";
import type { RequestLookup } from "./request-lookup.ts";

/** Ids not in the cache that one getRequestStatus call may look up in the API server. */
const MAX_DIRECT_READS_PER_CALL = 10;

export async function getRequestStatus(
  { state }: ProviderContext,
  lookup: RequestLookup,
  answers: FinalAnswers,
  requestIds: string[],
): Promise<RequestStatus[]> {
  requireSynced(state);
  // A few direct reads per call at most: a call naming thousands of unknown ids must not
  // queue thousands of API reads ahead of the reconciler's work.
  let reads = 0;
  return Promise.all(
    requestIds.map(async (id) => {
      const mayRead =
        requestKindOf(id) !== undefined && !state.record(id) && reads++ < MAX_DIRECT_READS_PER_CALL;
      const record = await lookup.find(id, mayRead);
      lookup.noteAsked(record);
      return await answers.statusOf(record, id, () => reads++ < MAX_DIRECT_READS_PER_CALL);
    }),
  );
}
