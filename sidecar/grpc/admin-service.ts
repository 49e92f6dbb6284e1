// AdminService over gRPC: what operators ask the sidecar (the `hostfactory` admin commands). It
// answers from the same caches and the same status logic as ProviderService, so an operator sees
// exactly what HostFactory is told, plus what only Kubernetes shows (pods, nodes, Events).
import { dumpYaml } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  type AdminServiceServer,
  type MachineInfo,
  type RequestSummary,
  type TimelineEntry,
  TimelineSource,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import { RequestKind, RequestStatus } from "../../proto/gen/hostfactory/v1/provider.ts";
import { podManifest } from "../../templates/pod-manifest.ts";
import { sidecarPermissions } from "../admin/permissions.ts";
import { type TimelineEntry as Entry, requestTimeline } from "../admin/timeline.ts";
import type { ClusterState } from "../controller/cluster-state.ts";
import { toKubeApiError } from "../kube/api-errors.ts";
import type { ClusterReads } from "../kube/cluster-reads.ts";
import type { LeaderElector } from "../kube/leader-election.ts";
import { projectPod } from "../kube/pod-view.ts";
import { excerpt, ProviderError } from "../provider/errors.ts";
import {
  LABEL_INSTANCE,
  LABEL_REQUEST_ID,
  type PodView,
  type RequestRecord,
} from "../provider/model.ts";
import {
  parsePodName,
  podName,
  podNameOfMachine,
  recordName,
  requestKindOf,
} from "../provider/naming.ts";
import type { RequestStatus as StatusView } from "../provider/request-status.ts";
import { type ReferenceLookup, templateReferences } from "../provider/template-references.ts";
import type { TemplatesSource } from "../templates-source.ts";
import type { HandlerRecords, ProviderService } from "./provider-service.ts";
import { type CallObserver, toAttribute, toRequest, unaryHandlers } from "./server.ts";

/** Kubernetes' own limit on an object, and so on a Pod worth sending to the API server. */
const MAX_DRY_RUN_POD_BYTES = 1024 * 1024;
/** RenderTemplate's request id when none is given: a valid create id that is plainly a sample. */
export const EXAMPLE_REQUEST_ID = "req-example000";

export interface AdminSettings {
  /** This replica's identity (as on the Lease). */
  identity: string;
  instance: string;
  namespace: string;
  podNamePrefix: string;
  leaderElect: boolean;
  leaseName: string;
  watchNodes: boolean;
  watchQuotas: boolean;
  templatesFile: string;
}

/** What a cache reports about itself. */
interface CacheInfo {
  readonly synced: boolean;
  readonly size: number;
}

export interface AdminContext {
  /** Request statuses and template availability, exactly as HostFactory gets them. */
  service: ProviderService;
  state: ClusterState;
  templates: TemplatesSource;
  /** For a record another replica just stored and this one has not yet watched. */
  records: HandlerRecords;
  caches: Record<string, CacheInfo | undefined>;
  cluster: ClusterReads;
  /** Finds the objects the templates name. */
  references: ReferenceLookup;
  /** The leader elector, once there is one (it starts after the caches are synced). */
  elector: () => LeaderElector | undefined;
  /** Orphan pods as this replica's reconciler counts them. */
  orphans: () => number;
}

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

function invalid(message: string): ProviderError {
  return new ProviderError("invalid-argument", message);
}

function checkRequestId(requestId: string): void {
  if (!requestKindOf(requestId)) {
    throw invalid(
      `'${excerpt(requestId)}' is not a request id: expected req- or ret- followed by ten lowercase letters or digits`,
    );
  }
}

export function createAdminHandlers(
  settings: AdminSettings,
  context: AdminContext,
  logger: Logger,
  observe: CallObserver = () => {},
): AdminServiceServer {
  const { service, state, templates, cluster } = context;

  const unary = unaryHandlers(logger, observe, "debug");

  const requireSynced = () => {
    if (!state.synced) {
      throw new ProviderError(
        "unavailable",
        "the sidecar is still loading the cluster's state; try again shortly",
      );
    }
  };

  const machineInfo = (pod: PodView): MachineInfo => ({
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
  });

  /** The request's pods and the Events about them and its record; what cannot be read is
   * told in the warning, and the rest of the answer stands. */
  const clusterView = async (record: RequestRecord) => {
    const instance = `${LABEL_INSTANCE}=${settings.instance}`;
    const names =
      record.kind === "create"
        ? Array.from({ length: record.machineCount }, (_, i) =>
            podName(settings.podNamePrefix, record.requestId, i),
          )
        : record.machines.map((m) => podNameOfMachine(m.name));
    const wanted = new Set(names);
    const warnings: string[] = [];
    let pods: Awaited<ReturnType<ClusterReads["pods"]>> = [];
    const creators =
      record.kind === "create"
        ? [record.requestId]
        : [
            ...new Set(
              names.flatMap((name) => parsePodName(settings.podNamePrefix, name)?.requestId ?? []),
            ),
          ];
    try {
      if (creators.length > 0) {
        const selector = `${instance},${LABEL_REQUEST_ID} in (${creators.join(",")})`;
        pods = (await cluster.pods(selector)).filter((p) => wanted.has(p.metadata?.name ?? ""));
      }
    } catch (error) {
      warnings.push(`the pods could not be read (${toKubeApiError(error).message})`);
    }
    let events: Awaited<ReturnType<ClusterReads["events"]>>["events"] = [];
    try {
      const found = await cluster.events(new Set([...names, recordName(record.requestId)]));
      events = found.events;
      if (!found.complete) warnings.push("the namespace has more Events than a timeline reads");
    } catch (error) {
      warnings.push(`Kubernetes Events could not be read (${toKubeApiError(error).message})`);
    }
    return { pods, events, warning: warnings.join("; ") };
  };

  return {
    listRequests: unary("ListRequests", async (request) => {
      requireSynced();
      const records = [...state.records()]
        .filter(
          (r) =>
            request.kind === RequestKind.REQUEST_KIND_UNSPECIFIED || KIND[r.kind] === request.kind,
        )
        .filter(
          (r) =>
            !request.templateId || (r.kind === "create" && r.templateId === request.templateId),
        )
        .sort((a, b) => b.createdAt - a.createdAt || a.requestId.localeCompare(b.requestId));
      const statuses =
        records.length === 0 ? [] : await service.getRequestStatus(records.map((r) => r.requestId));
      const requests = records
        .map((record, i) => summaryOf(record, statuses[i] as StatusView))
        .filter((s) => !request.runningOnly || s.status === RequestStatus.REQUEST_STATUS_RUNNING);
      return { requests };
    }),

    getRequest: unary("GetRequest", async ({ requestId }) => {
      checkRequestId(requestId);
      requireSynced();
      const record = state.record(requestId) ?? (await context.records.read(requestId));
      if (!record) {
        throw new ProviderError(
          "not-found",
          `request '${excerpt(requestId)}' has no record (never made, or removed after its retention)`,
        );
      }
      const [status] = (await service.getRequestStatus([requestId])) as [StatusView];
      const view = await clusterView(record);
      const pods = view.pods.flatMap((pod) => {
        const projected = projectPod(pod);
        return projected ? [machineInfo(projected)] : [];
      });
      const timeline = requestTimeline({ record, status, pods: view.pods, events: view.events });
      return {
        summary: summaryOf(record, status),
        request: toRequest(status),
        pods,
        timeline: timeline.map(timelineEntry),
        timelineWarning: view.warning,
      };
    }),

    listMachines: unary("ListMachines", async ({ requestId, templateId }) => {
      if (requestId) checkRequestId(requestId);
      requireSynced();
      const machines = [...state.pods()]
        .filter((pod) => !requestId || pod.requestId === requestId)
        .filter((pod) => !templateId || pod.templateId === templateId)
        .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name))
        .map(machineInfo);
      // A filter that names nothing the provider knows is a mistake, not "no machines".
      if (machines.length === 0) {
        if (requestId && !state.record(requestId) && !(await context.records.read(requestId))) {
          throw new ProviderError(
            "not-found",
            `request '${excerpt(requestId)}' has no record and no machines (never made, or removed after its retention)`,
          );
        }
        if (templateId && !templates.get(templateId)) {
          const known = templates.templates.map((t) => t.templateId).join(", ");
          throw new ProviderError(
            "not-found",
            `template '${excerpt(templateId)}' not found and has no machines; available: ${known}`,
          );
        }
      }
      return { machines };
    }),

    listTemplates: unary("ListTemplates", () => {
      const available = new Map(
        service.getAvailableTemplates().templates.map((t) => [t.templateId, t.availableNumber]),
      );
      return {
        templatesFile: settings.templatesFile,
        templatesError: templates.lastError ?? "",
        templates: templates.templates.map((t) => ({
          template: {
            templateId: t.templateId,
            maxNumber: t.maxNumber,
            availableNumber: available.get(t.templateId) ?? 0,
            attributes: Object.fromEntries(
              Object.entries(t.attributes).map(([name, value]) => [name, toAttribute(value)]),
            ),
          },
          pendingTimeoutSeconds: t.pendingTimeoutSeconds,
          subdomain: t.subdomain ?? "",
          hostnameStyle: t.hostnameStyle,
          machinesInUse: state.machinesInUse(t.templateId),
        })),
      };
    }),

    renderTemplate: unary("RenderTemplate", async (request) => {
      const template = templates.get(request.templateId);
      if (!template) {
        const known = templates.templates.map((t) => t.templateId).join(", ");
        throw new ProviderError(
          "not-found",
          `template '${excerpt(request.templateId)}' not found; available: ${known}`,
        );
      }
      const requestId = request.requestId || EXAMPLE_REQUEST_ID;
      if (requestKindOf(requestId) !== "create") {
        throw invalid(
          `'${excerpt(requestId)}' is not a create request id (req- and ten letters or digits)`,
        );
      }
      if (request.machineIndex < 0) {
        throw invalid(`machine index ${request.machineIndex} is negative`);
      }
      const pod = podManifest({
        instance: settings.instance,
        podNamePrefix: settings.podNamePrefix,
        requestId,
        index: request.machineIndex,
        rcAccount: request.rcAccount,
        template,
      });
      const refusal = request.dryRun ? await cluster.dryRunPod(pod) : undefined;
      return {
        podJson: `${JSON.stringify(pod, null, 2)}\n`,
        podYaml: dumpYaml(pod),
        dryRunAccepted: request.dryRun && refusal === undefined,
        dryRunError: refusal ?? "",
      };
    }),

    dryRunPod: unary("DryRunPod", async ({ podJson }) => {
      if (podJson.length > MAX_DRY_RUN_POD_BYTES) {
        throw invalid(`the Pod is ${podJson.length} bytes; at most ${MAX_DRY_RUN_POD_BYTES}`);
      }
      let pod: unknown;
      try {
        pod = JSON.parse(podJson);
      } catch (error) {
        throw invalid(`pod_json is not JSON: ${(error as Error).message}`);
      }
      if (typeof pod !== "object" || pod === null || Array.isArray(pod)) {
        throw invalid("pod_json must be a Pod manifest (a JSON object)");
      }
      const manifest = pod as { metadata?: Record<string, unknown> };
      // The sidecar's namespace, whatever the manifest says: the one its pods are created in.
      const { namespace: _ignored, ...metadata } = manifest.metadata ?? {};
      const refusal = await cluster.dryRunPod({ ...manifest, metadata });
      return { accepted: refusal === undefined, error: refusal ?? "" };
    }),

    getStatus: unary("GetStatus", () => {
      const elector = context.elector();
      const caches = Object.entries(context.caches).flatMap(([name, cache]) =>
        cache ? [{ name, synced: cache.synced, size: cache.size }] : [],
      );
      return {
        identity: settings.identity,
        instance: settings.instance,
        namespace: settings.namespace,
        podNamePrefix: settings.podNamePrefix,
        leaderElection: settings.leaderElect,
        leaseName: settings.leaderElect ? settings.leaseName : "",
        leader: settings.leaderElect ? (elector?.leader ?? "") : settings.identity,
        isLeader: settings.leaderElect ? (elector?.isLeader ?? false) : true,
        cachesSynced: state.synced,
        caches,
        templatesFile: settings.templatesFile,
        templateCount: templates.templates.length,
        templatesError: templates.lastError ?? "",
        orphanCount: context.orphans(),
      };
    }),

    checkPermissions: unary("CheckPermissions", async () => {
      const checks = await Promise.all(
        sidecarPermissions(settings).map(async (permission) => ({
          ...permission,
          ...(await cluster.review(permission)),
        })),
      );
      return { checks };
    }),
    checkTemplateReferences: unary("CheckTemplateReferences", async () => {
      const named = templates.templates.flatMap((t) =>
        templateReferences(t.pod.spec).map((reference) => ({
          templateId: t.templateId,
          reference,
        })),
      );
      const checks = await Promise.all(
        named.map(async ({ templateId, reference }) => {
          const finding = await context.references(reference);
          return {
            templateId,
            ...reference,
            found: finding.state === "found",
            error: finding.state === "unknown" ? finding.error : "",
          };
        }),
      );
      return { checks };
    }),
  };
}
