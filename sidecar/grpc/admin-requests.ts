// The AdminService calls about requests and their machines: ListRequests, GetRequest and
// ListMachines, answered from the caches and the same statuses HostFactory is given.

import {
  type GetRequestRequest,
  type GetRequestResponse,
  type ListMachinesRequest,
  type ListMachinesResponse,
  type ListRequestsRequest,
  type ListRequestsResponse,
  type MachineInfo,
  type RequestSummary,
  type TimelineEntry,
  TimelineSource,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import { RequestKind, RequestStatus } from "../../proto/gen/hostfactory/v1/provider.ts";
import { type TimelineEntry as Entry, requestTimeline } from "../admin/timeline.ts";
import type { ClusterState } from "../controller/cluster-state.ts";
import { projectPod } from "../kube/pod-view.ts";
import { excerpt, ProviderError } from "../provider/errors.ts";
import type { PodView, RequestRecord } from "../provider/model.ts";
import type { RequestStatus as StatusView } from "../provider/request-status.ts";
import { unknownTemplate } from "../templates-source.ts";
import { type AdminContext, type AdminSettings, checkRequestId } from "./admin-context.ts";
import { toRequest } from "./convert.ts";
import { requireSynced } from "./provider-context.ts";
import { requestClusterView } from "./request-cluster-view.ts";

const KIND = { create: RequestKind.REQUEST_KIND_CREATE, return: RequestKind.REQUEST_KIND_RETURN };
const SOURCE = {
  record: TimelineSource.TIMELINE_SOURCE_RECORD,
  pod: TimelineSource.TIMELINE_SOURCE_POD,
  event: TimelineSource.TIMELINE_SOURCE_EVENT,
} as const;

function summaryOf(record: RequestRecord, status: StatusView): RequestSummary {
  const count = (result: string) => status.machines.filter((m) => m.result === result).length;
  return {
    requestId: record.requestId,
    kind: KIND[record.kind],
    templateId: record.kind === "create" ? record.templateId : "",
    status: toRequest(status).status,
    message: status.message,
    machineCount: record.kind === "create" ? record.machineCount : record.machines.length,
    executingCount: count("executing"),
    succeededCount: count("succeed"),
    failedCount: count("fail"),
    createTimeMs: record.createdAt,
    completeTimeMs: record.completedAt ?? 0,
    rcAccount: record.kind === "create" ? record.rcAccount : "",
  };
}

function timelineEntry(entry: Entry): TimelineEntry {
  return {
    timeMs: entry.timeMs,
    machine: entry.machine,
    what: entry.what,
    detail: entry.detail,
    source: SOURCE[entry.source],
    warning: entry.warning,
  };
}

function machineInfo(state: ClusterState, pod: PodView): MachineInfo {
  return {
    name: pod.name,
    machineId: pod.uid,
    requestId: pod.requestId,
    templateId: pod.templateId,
    phase: pod.phase,
    ready: pod.ready,
    nodeName: pod.nodeName,
    podIp: pod.podIP,
    createTimeMs: pod.createdAt,
    deleteTimeMs: pod.deletingAt ?? 0,
    reason: pod.reason,
    returning: state.isReturning(pod.name),
    orphan: state.record(pod.requestId) === undefined,
  };
}

export async function listRequests(
  { service, state }: AdminContext,
  request: ListRequestsRequest,
): Promise<ListRequestsResponse> {
  requireSynced(state);
  const records = [...state.records()]
    .filter(
      (r) => request.kind === RequestKind.REQUEST_KIND_UNSPECIFIED || KIND[r.kind] === request.kind,
    )
    .filter(
      (r) => !request.templateId || (r.kind === "create" && r.templateId === request.templateId),
    )
    .sort((a, b) => b.createdAt - a.createdAt || a.requestId.localeCompare(b.requestId));
  const statuses =
    records.length === 0 ? [] : await service.getRequestStatus(records.map((r) => r.requestId));
  const requests = records
    .map((record, i) => summaryOf(record, statuses[i] as StatusView))
    .filter((s) => !request.runningOnly || s.status === RequestStatus.REQUEST_STATUS_RUNNING);
  return { requests };
}

export async function getRequest(
  settings: AdminSettings,
  { service, state, records, cluster }: AdminContext,
  { requestId }: GetRequestRequest,
): Promise<GetRequestResponse> {
  checkRequestId(requestId);
  requireSynced(state);
  const record = state.record(requestId) ?? (await records.read(requestId));
  if (!record) {
    throw new ProviderError(
      "not-found",
      `request '${excerpt(requestId)}' has no record (never made, or removed after its retention)`,
    );
  }
  const [status] = (await service.getRequestStatus([requestId])) as [StatusView];
  const view = await requestClusterView(settings, cluster, record);
  const pods = view.pods.flatMap((pod) => {
    const projected = projectPod(pod);
    return projected ? [machineInfo(state, projected)] : [];
  });
  const timeline = requestTimeline({ record, status, pods: view.pods, events: view.events });
  return {
    summary: summaryOf(record, status),
    request: toRequest(status),
    pods,
    timeline: timeline.map(timelineEntry),
    timelineWarning: view.warning,
  };
}

export async function listMachines(
  { state, templates, records }: AdminContext,
  { requestId, templateId }: ListMachinesRequest,
): Promise<ListMachinesResponse> {
  if (requestId) checkRequestId(requestId);
  requireSynced(state);
  const machines = [...state.pods()]
    .filter((pod) => !requestId || pod.requestId === requestId)
    .filter((pod) => !templateId || pod.templateId === templateId)
    .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name))
    .map((pod) => machineInfo(state, pod));
  // A filter that names nothing the provider knows is a mistake, not "no machines".
  if (machines.length === 0) {
    if (requestId && !state.record(requestId) && !(await records.read(requestId))) {
      throw new ProviderError(
        "not-found",
        `request '${excerpt(requestId)}' has no record and no machines (never made, or removed after its retention)`,
      );
    }
    if (templateId && !templates.get(templateId)) {
      throw unknownTemplate(templates, templateId, " and has no machines");
    }
  }
  return { machines };
}
