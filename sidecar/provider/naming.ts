// Deterministic names. A machine's pod name is derived from (request id, index) so that a
// restarted reconciler recreates nothing that exists (AlreadyExists is success) and so that a
// returned name can be traced to its request without any lookup table.
import { randomInt } from "node:crypto";
import { isDnsLabel } from "../../templates/names.ts";
import { ProviderError } from "./errors.ts";

export { isDnsLabel, podName } from "../../templates/names.ts";

export const CREATE_ID_PREFIX = "req-";
export const RETURN_ID_PREFIX = "ret-";
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const ID_LENGTH = 10;
/** Room left in a 63-character DNS-1123 label after `-req-xxxxxxxxxx-NNNNN`. */
export const MAX_POD_NAME_PREFIX_LENGTH = 40;
const REQUEST_ID = /^(req|ret)-[a-z0-9]{10}$/;

export type RequestKind = "create" | "return";

export function newRequestId(kind: RequestKind): string {
  let id = kind === "create" ? CREATE_ID_PREFIX : RETURN_ID_PREFIX;
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** The kind of a well-formed request id, or undefined for anything else. */
export function requestKindOf(requestId: string): RequestKind | undefined {
  if (!REQUEST_ID.test(requestId)) return undefined;
  return requestId.startsWith(CREATE_ID_PREFIX) ? "create" : "return";
}

/** Throws when `prefix` cannot start every pod name. */
export function checkPodNamePrefix(prefix: string): void {
  if (!isDnsLabel(prefix) || prefix.length > MAX_POD_NAME_PREFIX_LENGTH) {
    throw new ProviderError(
      "invalid-argument",
      `pod name prefix '${prefix}' must be lowercase letters, digits and '-', start and end with a letter or digit, and be at most ${MAX_POD_NAME_PREFIX_LENGTH} characters`,
    );
  }
}

/** The request id and index a pod name was made from, or undefined when `prefix` did not make it. */
export function parsePodName(
  prefix: string,
  name: string,
): { requestId: string; index: number } | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const match = /^(req-[a-z0-9]{10})-(0|[1-9][0-9]{0,5})$/.exec(name.slice(prefix.length + 1));
  if (!match) return undefined;
  return { requestId: match[1] as string, index: Number(match[2]) };
}

/** The pod name inside a machine name HostFactory holds (which may be the pod's FQDN). */
export function podNameOfMachine(machineName: string): string {
  const dot = machineName.indexOf(".");
  return dot === -1 ? machineName : machineName.slice(0, dot);
}

/** The ConfigMap that records a request. */
export function recordName(requestId: string): string {
  return `hostfactory-${requestId}`;
}
