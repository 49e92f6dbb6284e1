// The five HostFactory operations (and the status stream) in the sidecar's own terms. They read
// the caches and write request records; the reconciler does the rest. Each operation is its own
// module; this one wires them to the few units whose memory they share (reservations, the
// request ids asked about, final answers being stored).

import type { ClusterState } from "../controller/cluster-state.ts";
import type { RequestStatus } from "../provider/request-status.ts";
import type { ReturnCandidate } from "../provider/return-requests.ts";
import type { TemplatesSource } from "../templates-source.ts";
import { createFinalAnswers } from "./final-answers.ts";
import { getAvailableTemplates, type TemplateAvailability } from "./get-available-templates.ts";
import { getRequestStatus } from "./get-request-status.ts";
import { getReturnRequests } from "./get-return-requests.ts";
import type {
  HandlerRecords,
  MachineRef,
  ProviderContext,
  ProviderDependencies,
  ProviderSettings,
} from "./provider-context.ts";
import { createRequestLookup } from "./request-lookup.ts";
import { requestMachines } from "./request-machines.ts";
import { requestReturnMachines } from "./request-return-machines.ts";
import { createAvailability } from "./template-availability.ts";
import { watchRequest } from "./watch-request.ts";

export type { HandlerRecords } from "./provider-context.ts";

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

export function createProviderService(
  settings: ProviderSettings,
  state: ClusterState,
  templates: TemplatesSource,
  store: HandlerRecords,
  cluster: ProviderDependencies,
): ProviderService {
  const context: ProviderContext = { settings, state, templates, store, cluster };
  const availability = createAvailability(context);
  const lookup = createRequestLookup(context);
  const answers = createFinalAnswers(context);
  return {
    getAvailableTemplates: () => getAvailableTemplates(context, availability),
    requestMachines: (ask, signal) => requestMachines(context, availability, ask, signal),
    requestReturnMachines: (machines, signal) => requestReturnMachines(context, machines, signal),
    getRequestStatus: (requestIds) => getRequestStatus(context, lookup, answers, requestIds),
    getReturnRequests: (machines) => getReturnRequests(context, machines),
    watchRequest: (requestId, send, signal) =>
      watchRequest(context, lookup, answers, requestId, send, signal),
  };
}
