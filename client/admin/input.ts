// `hostfactory input <operation> …`: writes the input document HostFactory would give a script,
// so the scripts can be tried by hand (`hostfactory input requestMachines compute-small 3 >
// in.json; scripts/requestMachines.sh -f in.json`). Tab-indented, as HostFactory writes them, and
// checked by the same parser the operations use, so what it prints is always accepted.
import { ListMachinesRequest } from "../../proto/gen/hostfactory/v1/admin.ts";
import { MachineResult } from "../../proto/gen/hostfactory/v1/provider.ts";
import { invalidInput } from "../errors.ts";
import {
  toGetAvailableTemplatesRequest,
  toGetRequestStatusRequest,
  toGetReturnRequestsRequest,
  toRequestMachinesRequest,
  toRequestReturnMachinesRequest,
} from "../symphony-input.ts";
import { type AdminContext, AdminExit, type Run } from "./context.ts";

type Machines = { name: string; machineId: string }[];

const ALIASES: Record<string, string> = {
  "get-available-templates": "getAvailableTemplates",
  "request-machines": "requestMachines",
  "request-return-machines": "requestReturnMachines",
  "get-request-status": "getRequestStatus",
  "get-return-requests": "getReturnRequests",
};
const OPERATIONS = Object.values(ALIASES);

function noneOf(values: string[], usage: string): void {
  if (values.length > 0)
    throw invalidInput(`unexpected argument ${JSON.stringify(values[0])}; ${usage}`);
}

/** The machines of a create request that are up (what one would give back). */
async function machinesOfRequest(requestId: string, context: AdminContext): Promise<Machines> {
  const sidecar = await context.sidecar();
  const answer = await sidecar.call("getRequest", { requestId });
  const machines = (answer.request?.machines ?? [])
    .filter((m) => m.result === MachineResult.MACHINE_RESULT_SUCCEED)
    .map(({ name, machineId }) => ({ name, machineId }));
  if (machines.length === 0) throw invalidInput(`request ${requestId} has no machine up to return`);
  return machines;
}

async function allMachines(context: AdminContext): Promise<Machines> {
  const sidecar = await context.sidecar();
  const { machines } = await sidecar.call("listMachines", ListMachinesRequest.fromPartial({}));
  return machines.map((m) => ({ name: m.name, machineId: m.machineId }));
}

async function documentFor(
  operation: string,
  values: string[],
  args: Record<string, unknown>,
  context: AdminContext,
): Promise<object> {
  const request = args.request as string | undefined;
  switch (operation) {
    case "getAvailableTemplates":
      noneOf(values, "getAvailableTemplates takes no arguments");
      return {};
    case "requestMachines": {
      const [templateId, count, ...more] = values;
      const usage = "input requestMachines TEMPLATE_ID COUNT [--rc-account NAME]";
      noneOf(more, usage);
      if (!templateId || count === undefined) throw invalidInput(`usage: ${usage}`);
      const rcAccount = args["rc-account"] as string | undefined;
      return {
        template: {
          templateId,
          machineCount: /^\d+$/.test(count) ? Number(count) : count,
          ...(rcAccount ? { rc_account: rcAccount } : {}),
        },
      };
    }
    case "requestReturnMachines": {
      const usage = "input requestReturnMachines NAME… or --request REQUEST_ID";
      if (values.length > 0 === (request !== undefined)) throw invalidInput(`usage: ${usage}`);
      const machines = request
        ? await machinesOfRequest(request, context)
        : values.map((name) => ({ name, machineId: "" }));
      return { machines };
    }
    case "getRequestStatus":
      if (values.length === 0) throw invalidInput("usage: input getRequestStatus REQUEST_ID…");
      return { requests: values.map((requestId) => ({ requestId })) };
    case "getReturnRequests": {
      if (values.length > 0 && args.all === true) {
        throw invalidInput("usage: input getReturnRequests [NAME…] or --all");
      }
      const machines =
        args.all === true
          ? await allMachines(context)
          : values.map((name) => ({ name, machineId: "" }));
      return { machines };
    }
    default:
      throw invalidInput(
        `unknown operation ${JSON.stringify(operation)}; operations: ${OPERATIONS.join(", ")}`,
      );
  }
}

const CHECKS: Record<string, (document: unknown) => unknown> = {
  getAvailableTemplates: toGetAvailableTemplatesRequest,
  requestMachines: toRequestMachinesRequest,
  requestReturnMachines: toRequestReturnMachinesRequest,
  getRequestStatus: toGetRequestStatusRequest,
  getReturnRequests: toGetReturnRequestsRequest,
};

export const input: Run = async (args, context) => {
  const named = args.operation as string | undefined;
  if (!named) throw invalidInput(`which operation? one of ${OPERATIONS.join(", ")}`);
  const operation = ALIASES[named] ?? named;
  const document = await documentFor(operation, (args._ as string[]).slice(1), args, context);
  CHECKS[operation]?.(document);
  context.io.stdout.write(`${JSON.stringify(document, null, "\t")}\n`);
  return AdminExit.SUCCESS;
};
