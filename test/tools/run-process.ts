// Runs a command to completion and collects what it printed: how the tests start the CLI, the
// scripts and the benchmark, and how the benchmark times the scripts. Long-lived children (a
// sidecar, a control plane) are spawned where they are managed.
import { spawn } from "node:child_process";

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed (closed at once when not given). */
  input?: string;
  /** Kills the command (SIGKILL) when it aborts; the result is what it printed until then. */
  signal?: AbortSignal;
}

export function runProcess(
  command: string,
  args: string[],
  options: ProcessOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      signal: options.signal,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (error) => {
      if (!options.signal?.aborted) reject(error);
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    // A command that fails before it reads stdin (a setup error) may exit before the input is
    // written: the EPIPE that follows is not the test's failure, its exit code and output are.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}
