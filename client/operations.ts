// The five HostFactory operations: read the input file, check it and map it to the sidecar's
// request before anything is sent, call the sidecar, map the answer back.
import { readFileSync } from "node:fs";
import { connectSidecar, type Sidecar } from "./connect.ts";
import { ClientError, invalidInput } from "./errors.ts";
import { loadSettings, type SettingsFlags } from "./settings.ts";
import {
  parseInputJson,
  toGetAvailableTemplatesRequest,
  toGetRequestStatusRequest,
  toGetReturnRequestsRequest,
  toRequestMachinesRequest,
  toRequestReturnMachinesRequest,
} from "./symphony-input.ts";
import {
  fromGetAvailableTemplatesResponse,
  fromGetRequestStatusResponse,
  fromGetReturnRequestsResponse,
  fromRequestMachinesResponse,
  fromRequestReturnMachinesResponse,
} from "./symphony-output.ts";

/** Checks the input and returns the call to make, so that a bad input never reaches the sidecar. */
type Operation = (input: unknown) => (sidecar: Sidecar) => Promise<object>;

const OPERATIONS = {
  getAvailableTemplates: (input) => {
    const request = toGetAvailableTemplatesRequest(input);
    return async (sidecar) =>
      fromGetAvailableTemplatesResponse(await sidecar.call("getAvailableTemplates", request));
  },
  requestMachines: (input) => {
    const request = toRequestMachinesRequest(input);
    return async (sidecar) =>
      fromRequestMachinesResponse(await sidecar.call("requestMachines", request));
  },
  requestReturnMachines: (input) => {
    const request = toRequestReturnMachinesRequest(input);
    return async (sidecar) =>
      fromRequestReturnMachinesResponse(await sidecar.call("requestReturnMachines", request));
  },
  getRequestStatus: (input) => {
    const request = toGetRequestStatusRequest(input);
    return async (sidecar) =>
      fromGetRequestStatusResponse(await sidecar.call("getRequestStatus", request));
  },
  getReturnRequests: (input) => {
    const request = toGetReturnRequestsRequest(input);
    return async (sidecar) =>
      fromGetReturnRequestsResponse(await sidecar.call("getReturnRequests", request));
  },
} satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

export interface OperationOptions extends SettingsFlags {
  /** The input file; `-` for stdin. */
  file: string | undefined;
}

/** Runs one operation; resolves to the Symphony JSON document to print. */
export async function runOperation(
  name: OperationName,
  options: OperationOptions,
  env: Record<string, string | undefined>,
  warn: (message: string) => void,
): Promise<object> {
  if (!options.file) {
    throw invalidInput(
      `missing -f FILE: HostFactory runs ${name} with -f <input file> (- for stdin)`,
    );
  }
  const source = options.file === "-" ? "stdin" : `input file ${options.file}`;
  let inputText: string;
  try {
    inputText =
      options.file === "-"
        ? await (await import("node:stream/consumers")).text(process.stdin)
        : readFileSync(options.file, "utf8");
  } catch (error) {
    throw invalidInput(`cannot read ${source}: ${(error as Error).message}`, { cause: error });
  }
  let call: (sidecar: Sidecar) => Promise<object>;
  try {
    call = OPERATIONS[name](parseInputJson(inputText));
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    throw invalidInput(`invalid ${name} input (${source}): ${error.message}`, { cause: error });
  }

  const settings = loadSettings(options, env);
  for (const warning of settings.warnings) warn(warning);
  return call(connectSidecar(settings));
}
