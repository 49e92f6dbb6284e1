// AdminService over gRPC: what operators ask the sidecar (the `hostfactory` admin commands). It
// answers from the same caches and the same status logic as ProviderService, so an operator sees
// exactly what HostFactory is told, plus what only Kubernetes shows (pods, nodes, Events).
// The calls are grouped by what they are about; this module wires them to gRPC.
import type { Logger } from "pino";
import type { AdminServiceServer } from "../../proto/gen/hostfactory/v1/admin.ts";
import { checkPermissions, checkTemplateReferences, getStatus } from "./admin-checks.ts";
import type { AdminContext, AdminSettings } from "./admin-context.ts";
import { getRequest, listMachines, listRequests } from "./admin-requests.ts";
import { dryRunPod, listTemplates, renderTemplate } from "./admin-templates.ts";
import { type CallObserver, unaryHandlers } from "./server.ts";

export function createAdminHandlers(
  settings: AdminSettings,
  context: AdminContext,
  logger: Logger,
  observe: CallObserver = () => {},
): AdminServiceServer {
  const unary = unaryHandlers(logger, observe, "debug");
  return {
    listRequests: unary("ListRequests", (request) => listRequests(context, request)),
    getRequest: unary("GetRequest", (request) => getRequest(settings, context, request)),
    listMachines: unary("ListMachines", (request) => listMachines(context, request)),
    listTemplates: unary("ListTemplates", () => listTemplates(settings, context)),
    renderTemplate: unary("RenderTemplate", (request) =>
      renderTemplate(settings, context, request),
    ),
    dryRunPod: unary("DryRunPod", (request) => dryRunPod(context, request)),
    getStatus: unary("GetStatus", () => getStatus(settings, context)),
    checkPermissions: unary("CheckPermissions", () => checkPermissions(settings, context)),
    checkTemplateReferences: unary("CheckTemplateReferences", () =>
      checkTemplateReferences(context),
    ),
  };
}
