// The client's one error type. Its code decides the exit code, and so whether HostFactory's retry
// can help: a sidecar that is down may be up at the next call, a bad input file stays bad. A
// failed gRPC call becomes one here (sidecarError), alike for the operations and the admin commands.
import { GRPC_STATUS, type GrpcCallError, statusName } from "./grpc-status.ts";

/** The exit codes of every `hostfactory` command. */
export const ExitCode = {
  /** The answer is on stdout. */
  SUCCESS: 0,
  /** The sidecar was unreachable, timed out or failed; the same call may succeed later. */
  RETRY: 1,
  /** The input, the command line or the configuration is wrong; retrying will not help. */
  INVALID: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const EXIT_CODE_LINES = `  0  success: the answer is the JSON document on stdout
  1  the sidecar is unreachable, did not answer in time, or failed: HostFactory retries later
  2  invalid input, command line or configuration (found here or by the sidecar): fix it first`;
const FAILURE_OUTPUT = `  On failure stdout holds {"message": "..."} and stderr the details.`;

/** The exit codes of the HostFactory operations and install, as `--help` states them. */
export const EXIT_CODES_HELP = `EXIT CODES

${EXIT_CODE_LINES}

${FAILURE_OUTPUT}`;

/** Every exit code of every command, for the top-level help (3 is the admin commands' own). */
export const ALL_EXIT_CODES_HELP = `EXIT CODES

${EXIT_CODE_LINES}
  3  the command worked and found a problem: a doctor check failed, templates validate found the
     file invalid, the request watch followed ended complete_with_error, render --dry-run refused

${FAILURE_OUTPUT}`;

export type ClientErrorCode =
  /** Input, command line or configuration is wrong (exit 2). */
  | "invalid_input"
  /** The sidecar could not give a usable answer (exit 1). */
  | "sidecar_failed";

/** Thrown for every failure the client reports; `message` is what an administrator reads. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly code: ClientErrorCode;
  /** What goes to the log beside the message (stderr), such as the gRPC status. */
  readonly detail: string | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { detail?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
  }
}

export function invalidInput(message: string, options?: { detail?: string; cause?: unknown }) {
  return new ClientError("invalid_input", message, options);
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof ClientError && error.code === "invalid_input"
    ? ExitCode.INVALID
    : ExitCode.RETRY;
}

/** Statuses by which the sidecar says the request itself is wrong: sending it again cannot help. */
const INVALID_REQUEST_CODES = new Set<number>([
  GRPC_STATUS.INVALID_ARGUMENT,
  GRPC_STATUS.NOT_FOUND,
  GRPC_STATUS.RESOURCE_EXHAUSTED,
  GRPC_STATUS.FAILED_PRECONDITION,
  GRPC_STATUS.OUT_OF_RANGE,
]);

/** Where the sidecar is, as the settings say (Settings has these fields). */
export interface SidecarPlace {
  /** The address as given. */
  addressText: string;
  /** Where the address came from: --address, HOSTFACTORY_ADDRESS, the config file, the default. */
  addressSource: string;
  timeoutMs: number;
}

/**
 * A failed call to the sidecar, for the operations and the admin commands alike: a status by
 * which the sidecar refuses the request exits 2 with its message as is (written for the
 * administrator), any other exits 1 so that HostFactory retries; the gRPC status and its details
 * go to the log.
 */
export function sidecarError(error: GrpcCallError, sidecar: SidecarPlace): ClientError {
  const where = `${sidecar.addressText} (address from ${sidecar.addressSource})`;
  const detail = `gRPC ${statusName(error.code)} from ${where}: ${error.details}`;
  if (INVALID_REQUEST_CODES.has(error.code)) {
    return invalidInput(error.details, { detail, cause: error });
  }
  const at = `the hostfactory-k8s sidecar at ${sidecar.addressText}`;
  const message =
    error.code === GRPC_STATUS.UNAVAILABLE
      ? `the hostfactory-k8s sidecar is not reachable at ${sidecar.addressText}: is it running?`
      : error.code === GRPC_STATUS.DEADLINE_EXCEEDED
        ? `${at} did not answer within ${sidecar.timeoutMs / 1000}s`
        : error.code === GRPC_STATUS.UNIMPLEMENTED
          ? `${at} does not serve this call (is it older than this client?)`
          : `${at} failed: ${error.details}`;
  return new ClientError("sidecar_failed", message, { detail, cause: error });
}
