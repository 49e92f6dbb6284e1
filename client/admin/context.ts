// What every admin command is given and returns: its context (output, settings, the sidecar),
// its exit codes, and the shape of its work. main.ts dispatches to the commands; they import
// this, never main.ts.
import type { ParsedArgs } from "citty";
import { ExitCode } from "../errors.ts";
import type { Settings } from "../settings.ts";
import type { SidecarAdmin } from "./sidecar-admin.ts";

/** Exit codes of the admin commands: the client's, and one for "the answer is: not healthy". */
export const AdminExit = {
  ...ExitCode,
  /** The command worked and found a problem: a doctor check failed, a templates file is
   * invalid, a watched request ended complete_with_error, a dry run was refused. */
  PROBLEMS: 3,
} as const;

export const ADMIN_EXIT_CODES_HELP = `EXIT CODES

  0  success
  1  the sidecar is unreachable, did not answer in time, or failed
  2  invalid command line, input or configuration (found here or by the sidecar)
  3  the command worked and found a problem (doctor, templates validate, watch, render --dry-run)`;

/** Where the commands write, and what they read of the process (tests give their own). */
export interface AdminIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
  now: () => number;
}

export interface AdminContext {
  io: AdminIo;
  /** --json: one JSON document on stdout (watch: one per line). */
  json: boolean;
  settings(): Settings;
  /** Connects on first use. */
  sidecar(): Promise<SidecarAdmin>;
  /** Writes the result: `value` as JSON with --json, else the text `human` makes. */
  print(value: unknown, human: () => string): void;
}

/** A command's work: its parsed arguments in, its exit code out. */
export type Run = (args: ParsedArgs, context: AdminContext) => Promise<number>;
