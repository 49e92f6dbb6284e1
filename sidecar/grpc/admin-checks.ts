// The AdminService calls `hostfactory doctor` makes: GetStatus, CheckPermissions and
// CheckTemplateReferences.

import type {
  CheckPermissionsResponse,
  CheckTemplateReferencesResponse,
  GetStatusResponse,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import { sidecarPermissions } from "../admin/permissions.ts";
import { templateReferences } from "../provider/template-references.ts";
import type { AdminContext, AdminSettings } from "./admin-context.ts";

export function getStatus(settings: AdminSettings, context: AdminContext): GetStatusResponse {
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
    cachesSynced: context.state.synced,
    caches,
    templatesFile: settings.templatesFile,
    templateCount: context.templates.templates.length,
    templatesError: context.templates.lastError ?? "",
    orphanCount: context.orphans(),
  };
}

export async function checkPermissions(
  settings: AdminSettings,
  { cluster }: AdminContext,
): Promise<CheckPermissionsResponse> {
  const checks = await Promise.all(
    sidecarPermissions(settings).map(async (permission) => ({
      ...permission,
      ...(await cluster.review(permission)),
    })),
  );
  return { checks };
}

export async function checkTemplateReferences({
  templates,
  references,
}: AdminContext): Promise<CheckTemplateReferencesResponse> {
  const named = templates.templates.flatMap((t) =>
    templateReferences(t.pod.spec).map((reference) => ({
      templateId: t.templateId,
      reference,
    })),
  );
  const checks = await Promise.all(
    named.map(async ({ templateId, reference }) => {
      const finding = await references(reference);
      return {
        templateId,
        ...reference,
        found: finding.state === "found",
        error: finding.state === "unknown" ? finding.error : "",
      };
    }),
  );
  return { checks };
}
