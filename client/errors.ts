// The client's one error type. Its code decides the exit code, and so whether HostFactory's retry
// can help: a sidecar that is down may be up at the next call, a bad input file stays bad.

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
