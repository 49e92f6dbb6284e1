// The sidecar's protobuf answers to the JSON documents HostFactory reads: exactly its field names
// and value types, nothing more (HostFactory's parser is strict about types, e.g. `launchtime`
// is a number).
import {
  AttributeType,
  type GetAvailableTemplatesResponse,
  type GetRequestStatusResponse,
  type GetReturnRequestsResponse,
  type Machine,
  MachineResult,
  MachineState,
  type Request,
  type RequestMachinesResponse,
  type RequestReturnMachinesResponse,
  RequestStatus,
} from "../proto/gen/hostfactory/v1/provider.ts";
import { ClientError } from "./errors.ts";

export interface TemplatesOutput {
  templates: {
    templateId: string;
    maxNumber: number;
    availableNumber: number;
    attributes: Record<string, [AttributeTypeName, string]>;
  }[];
  message: string;
}
type AttributeTypeName = "String" | "Numeric";

/** requestMachines and requestReturnMachines answer alike. */
export interface RequestIdOutput {
  requestId: string;
  message: string;
}

export interface RequestStatusOutput {
  requests: {
    requestId: string;
    status: "running" | "complete" | "complete_with_error";
    message: string;
    machines: MachineOutput[];
  }[];
}

export interface MachineOutput {
  machineId: string;
  name: string;
  result: "executing" | "succeed" | "fail";
  status: "pending" | "running" | "shutting-down" | "terminated";
  privateIpAddress: string;
  publicIpAddress: string;
  launchtime: number;
  message: string;
}

export interface ReturnRequestsOutput {
  status: "complete";
  message: string;
  requests: { machine: string; gracePeriod: number }[];
}

const ATTRIBUTE_TYPES = new Map<AttributeType, AttributeTypeName>([
  [AttributeType.ATTRIBUTE_TYPE_STRING, "String"],
  [AttributeType.ATTRIBUTE_TYPE_NUMERIC, "Numeric"],
]);

const REQUEST_STATUSES = new Map<RequestStatus, RequestStatusOutput["requests"][number]["status"]>([
  [RequestStatus.REQUEST_STATUS_RUNNING, "running"],
  [RequestStatus.REQUEST_STATUS_COMPLETE, "complete"],
  [RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR, "complete_with_error"],
]);

const MACHINE_RESULTS = new Map<MachineResult, MachineOutput["result"]>([
  [MachineResult.MACHINE_RESULT_EXECUTING, "executing"],
  [MachineResult.MACHINE_RESULT_SUCCEED, "succeed"],
  [MachineResult.MACHINE_RESULT_FAIL, "fail"],
]);

const MACHINE_STATES = new Map<MachineState, MachineOutput["status"]>([
  [MachineState.MACHINE_STATE_PENDING, "pending"],
  [MachineState.MACHINE_STATE_RUNNING, "running"],
  [MachineState.MACHINE_STATE_SHUTTING_DOWN, "shutting-down"],
  [MachineState.MACHINE_STATE_TERMINATED, "terminated"],
]);

export function fromGetAvailableTemplatesResponse(
  response: GetAvailableTemplatesResponse,
): TemplatesOutput {
  // HostFactory may drop a provider that lists no template: fail the call instead.
  if (response.templates.length === 0) {
    throw new ClientError("sidecar_failed", "the sidecar listed no templates", {
      detail: response.message,
    });
  }
  return {
    templates: response.templates.map((template) => ({
      templateId: template.templateId,
      maxNumber: template.maxNumber,
      availableNumber: template.availableNumber,
      attributes: Object.fromEntries(
        Object.entries(template.attributes).map(([name, attribute]) => [
          name,
          [known(ATTRIBUTE_TYPES, attribute.type, `attribute type of ${name}`), attribute.value],
        ]),
      ),
    })),
    message: response.message,
  };
}

export function fromRequestMachinesResponse(response: RequestMachinesResponse): RequestIdOutput {
  return { requestId: response.requestId, message: response.message };
}

export function fromRequestReturnMachinesResponse(
  response: RequestReturnMachinesResponse,
): RequestIdOutput {
  return { requestId: response.requestId, message: response.message };
}

export function fromGetRequestStatusResponse(
  response: GetRequestStatusResponse,
): RequestStatusOutput {
  return { requests: response.requests.map(requestOutput) };
}

export function fromGetReturnRequestsResponse(
  response: GetReturnRequestsResponse,
): ReturnRequestsOutput {
  return {
    status: "complete",
    message: response.message,
    requests: response.requests.map((candidate) => ({
      machine: candidate.machine,
      gracePeriod: candidate.gracePeriod,
    })),
  };
}

function requestOutput(request: Request): RequestStatusOutput["requests"][number] {
  return {
    requestId: request.requestId,
    status: known(REQUEST_STATUSES, request.status, `status of request ${request.requestId}`),
    message: request.message,
    machines: request.machines.map(machineOutput),
  };
}

function machineOutput(machine: Machine): MachineOutput {
  return {
    machineId: machine.machineId,
    name: machine.name,
    result: known(MACHINE_RESULTS, machine.result, `result of machine ${machine.name}`),
    status: known(MACHINE_STATES, machine.status, `status of machine ${machine.name}`),
    privateIpAddress: machine.privateIpAddress,
    publicIpAddress: machine.publicIpAddress,
    launchtime: machine.launchtime,
    message: machine.message,
  };
}

/** An enum value the client does not know (unset, or from a newer sidecar) has no Symphony name. */
function known<K, V>(names: Map<K, V>, value: K, what: string): V {
  const name = names.get(value);
  if (name === undefined) {
    throw new ClientError(
      "sidecar_failed",
      `the sidecar answered with an unknown ${what} (${String(value)}); are the client and the sidecar of the same version?`,
    );
  }
  return name;
}
