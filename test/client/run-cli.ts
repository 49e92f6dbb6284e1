// Runs the real `hostfactory` CLI, or a real HostFactory script, as a child process: the way
// HostFactory does. Asynchronous, so that a stub sidecar in the test process can answer.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { type ProcessResult, runProcess } from "../tools/run-process.ts";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const CLIENT = fileURLToPath(new URL("../../client/main.ts", import.meta.url));

export type RunResult = ProcessResult;

export interface RunOptions {
  /** Added to a clean environment (no HF_*, HOSTFACTORY_* or NODE_COMPILE_CACHE from the caller's). */
  env?: Record<string, string | undefined>;
  /** Written to stdin. */
  input?: string;
  cwd?: string;
}

/** `node client/main.ts <args>`. */
export function runClient(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [CLIENT, ...args], options);
}

/** `sh <script> <args>`, with this test's Node first on PATH. */
export function runScript(
  script: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run("sh", [script, ...args], options);
}

export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(HF_|HOSTFACTORY_|NODE_COMPILE_CACHE$)/.test(key)) env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ""}`;
  Object.assign(env, options.env);
  return runProcess(command, args, { env, cwd: options.cwd ?? REPO, input: options.input });
}

/** The one JSON document a command must print on stdout. */
export function stdoutJson(result: RunResult): unknown {
  return JSON.parse(result.stdout);
}
