// The sidecar's answers in protobuf terms: machines, requests and template attributes as the
// generated messages carry them, and a ProviderError as the gRPC status a client acts on.
import * as grpc from "@grpc/grpc-js";
import {
  type Attribute,
  AttributeType,
  type Machine,
  MachineResult,
  MachineState,
  type Request,
  RequestKind,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import type { Attribute as TemplateAttribute } from "../../templates/parse.ts";
import { ProviderError, type ProviderErrorCode } from "../provider/errors.ts";
import type {
  MachineStatus,
  RequestStatus as RequestStatusView,
} from "../provider/request-status.ts";

const STATUS_BY_CODE: Record<ProviderErrorCode, grpc.status> = {
  "invalid-argument": grpc.status.INVALID_ARGUMENT,
  "not-found": grpc.status.NOT_FOUND,
  "resource-exhausted": grpc.status.RESOURCE_EXHAUSTED,
  "failed-precondition": grpc.status.FAILED_PRECONDITION,
  unavailable: grpc.status.UNAVAILABLE,
  cancelled: grpc.status.CANCELLED,
};
const RESULT = {
  executing: MachineResult.MACHINE_RESULT_EXECUTING,
  succeed: MachineResult.MACHINE_RESULT_SUCCEED,
  fail: MachineResult.MACHINE_RESULT_FAIL,
} as const;
const STATE = {
  pending: MachineState.MACHINE_STATE_PENDING,
  running: MachineState.MACHINE_STATE_RUNNING,
  "shutting-down": MachineState.MACHINE_STATE_SHUTTING_DOWN,
  terminated: MachineState.MACHINE_STATE_TERMINATED,
} as const;
const REQUEST_STATE = {
  running: RequestStatus.REQUEST_STATUS_RUNNING,
  complete: RequestStatus.REQUEST_STATUS_COMPLETE,
  complete_with_error: RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR,
} as const;
const KIND = {
  create: RequestKind.REQUEST_KIND_CREATE,
  return: RequestKind.REQUEST_KIND_RETURN,
  unknown: RequestKind.REQUEST_KIND_UNSPECIFIED,
} as const;

export function toAttribute(attribute: TemplateAttribute): Attribute {
  const type =
    attribute.type === "Numeric"
      ? AttributeType.ATTRIBUTE_TYPE_NUMERIC
      : AttributeType.ATTRIBUTE_TYPE_STRING;
  return { type, value: attribute.value };
}

function toMachine(machine: MachineStatus): Machine {
  return {
    machineId: machine.machineId,
    name: machine.name,
    result: RESULT[machine.result],
    status: STATE[machine.status],
    privateIpAddress: machine.privateIpAddress,
    publicIpAddress: "",
    launchtime: machine.launchtime,
    message: machine.message,
  };
}

export function toRequest(status: RequestStatusView): Request {
  return {
    requestId: status.requestId,
    status: REQUEST_STATE[status.status],
    message: status.message,
    machines: status.machines.map(toMachine),
    kind: KIND[status.kind],
    templateId: status.templateId,
  };
}

export function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof ProviderError) {
    return { code: STATUS_BY_CODE[error.code], details: error.message };
  }
  return { code: grpc.status.INTERNAL, details: `internal error: ${(error as Error).message}` };
}
