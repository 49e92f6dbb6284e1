// HostFactory's input documents (the file given as `-f`) to the sidecar's protobuf requests.
// Accepts what real HostFactory writes (lists or single objects, `machineId` beside `name`, keys
// this provider does not use) and rejects the rest, naming the field, what was expected and what
// was found.
import type {
  GetAvailableTemplatesRequest,
  GetRequestStatusRequest,
  GetReturnRequestsRequest,
  MachineRef,
  RequestMachinesRequest,
  RequestReturnMachinesRequest,
} from "../proto/gen/hostfactory/v1/provider.ts";
import { type ClientError, invalidInput } from "./errors.ts";

/**
 * The most machines a request may ask for, as provider.proto states for machine_count: the
 * sidecar never accepts more (its --max-request-machines may be set lower, and it says so).
 */
export const MAX_MACHINE_COUNT = 10_000;

type JsonObject = Record<string, unknown>;

/** Parses the text of an input file. */
export function parseInputJson(text: string): unknown {
  try {
    // A byte order mark is not JSON, but editors write one.
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw invalidInput(`not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

export function toGetAvailableTemplatesRequest(input: unknown): GetAvailableTemplatesRequest {
  documentOf(input);
  return {};
}

export function toRequestMachinesRequest(input: unknown): RequestMachinesRequest {
  const template = documentOf(input).template;
  if (!isObject(template)) {
    throw problem("template", 'an object with "templateId" and "machineCount"', template);
  }
  const templateId = requiredString(template.templateId, "template.templateId");
  const machineCount = template.machineCount;
  if (
    typeof machineCount !== "number" ||
    !Number.isInteger(machineCount) ||
    machineCount < 1 ||
    machineCount > MAX_MACHINE_COUNT
  ) {
    throw problem(
      "template.machineCount",
      `a whole number from 1 to ${MAX_MACHINE_COUNT}`,
      machineCount,
    );
  }
  const rcAccount = optionalString(template.rc_account, "template.rc_account");
  return { templateId, machineCount, rcAccount };
}

export function toRequestReturnMachinesRequest(input: unknown): RequestReturnMachinesRequest {
  const machines = machineRefs(documentOf(input).machines);
  if (machines.length === 0) {
    throw invalidInput("machines is empty: expected at least one machine to return");
  }
  return { machines };
}

export function toGetRequestStatusRequest(input: unknown): GetRequestStatusRequest {
  const { items, path } = listOf(documentOf(input).requests, "requests");
  if (items.length === 0) {
    throw invalidInput("requests is empty: expected at least one request id to report on");
  }
  const requestIds = items.map((request, index) => {
    if (!isObject(request)) throw problem(path(index), 'an object with "requestId"', request);
    return requiredString(request.requestId, `${path(index)}.requestId`);
  });
  return { requestIds };
}

/** HostFactory sends every machine it holds, so an empty or missing list is a valid question. */
export function toGetReturnRequestsRequest(input: unknown): GetReturnRequestsRequest {
  const machines = documentOf(input).machines;
  return { machines: machines === undefined || machines === null ? [] : machineRefs(machines) };
}

function documentOf(input: unknown): JsonObject {
  if (!isObject(input)) throw problem("the input", "a JSON object", input);
  return input;
}

function machineRefs(value: unknown): MachineRef[] {
  const { items, path } = listOf(value, "machines");
  return items.map((machine, index) => {
    if (!isObject(machine)) throw problem(path(index), 'an object with "name"', machine);
    return {
      name: requiredString(machine.name, `${path(index)}.name`),
      machineId: optionalString(machine.machineId, `${path(index)}.machineId`),
    };
  });
}

/** HostFactory writes a list, IBM's documentation sometimes a single object: take both. */
function listOf(value: unknown, name: string): { items: unknown[]; path: (i: number) => string } {
  if (Array.isArray(value)) return { items: value, path: (i) => `${name}[${i}]` };
  if (isObject(value)) return { items: [value], path: () => name };
  throw problem(name, "a list of objects", value);
}

function requiredString(value: unknown, path: string): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw problem(path, "a non-empty string", value);
  }
  return value;
}

function optionalString(value: unknown, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw problem(path, "a string", value);
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function problem(path: string, expected: string, found: unknown): ClientError {
  if (found === undefined) return invalidInput(`${path} is missing: expected ${expected}`);
  return invalidInput(`${path} must be ${expected}; found ${describe(found)}`);
}

/** Keeps a huge value from flooding the message. */
const MAX_SHOWN_CHARS = 60;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "object") return "an object";
  const shown = JSON.stringify(value);
  const text = shown.length > MAX_SHOWN_CHARS ? `${shown.slice(0, MAX_SHOWN_CHARS)}…` : shown;
  return `the ${typeof value} ${text}`;
}
