// The AdminService calls about templates and the pods they make: ListTemplates, RenderTemplate
// and DryRunPod.

import { dumpYaml } from "@kubernetes/client-node";
import type {
  DryRunPodRequest,
  DryRunPodResponse,
  ListTemplatesResponse,
  RenderTemplateRequest,
  RenderTemplateResponse,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import { podManifest } from "../../templates/pod-manifest.ts";
import { excerpt } from "../provider/errors.ts";
import { requestKindOf } from "../provider/naming.ts";
import { templateReferences } from "../provider/template-references.ts";
import { unknownTemplate } from "../templates-source.ts";
import { type AdminContext, type AdminSettings, invalid } from "./admin-context.ts";
import { toAttribute } from "./convert.ts";

/** Kubernetes' own limit on an object, and so on a Pod worth sending to the API server. */
const MAX_DRY_RUN_POD_BYTES = 1024 * 1024;
/** RenderTemplate's request id when none is given: a valid create id that is plainly a sample. */
const EXAMPLE_REQUEST_ID = "req-example000";

export function listTemplates(
  settings: AdminSettings,
  { service, state, templates }: AdminContext,
): ListTemplatesResponse {
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
      drainPolicy: t.drainPolicy,
      priorityClassName:
        templateReferences(t.pod.spec).find((r) => r.kind === "PriorityClass")?.name ?? "",
    })),
  };
}

export async function renderTemplate(
  settings: AdminSettings,
  { templates, cluster }: AdminContext,
  request: RenderTemplateRequest,
): Promise<RenderTemplateResponse> {
  const template = templates.get(request.templateId);
  if (!template) throw unknownTemplate(templates, request.templateId);
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
}

export async function dryRunPod(
  { cluster }: AdminContext,
  { podJson }: DryRunPodRequest,
): Promise<DryRunPodResponse> {
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
}
