// Runs an admin command in this process, with its output captured: a terminal or a pipe, as the
// test says. In-process, so that a sidecar the test started answers it.
import { Writable } from "node:stream";
import { runAdminCommand } from "../../client/admin/main.ts";

/** A stream that keeps what is written; `isTTY` and `columns` as a terminal (or a pipe) has them. */
export class Capture extends Writable {
  text = "";
  readonly isTTY: boolean;
  readonly columns: number | undefined;

  constructor(tty = false, columns?: number) {
    super();
    this.isTTY = tty;
    this.columns = columns;
  }

  override _write(chunk: Buffer | string, _encoding: string, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed; undefined when it is not one JSON document. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the command printed.
  json: any;
}

export async function admin(
  args: string[],
  options: { address?: string; tty?: boolean; env?: Record<string, string | undefined> } = {},
): Promise<AdminRun> {
  const stdout = new Capture(options.tty, options.tty ? 100 : undefined);
  const stderr = new Capture();
  const [name = "", ...rest] = args;
  const env = {
    ...(options.address ? { HOSTFACTORY_ADDRESS: options.address } : {}),
    ...options.env,
  };
  const code = await runAdminCommand(name, rest, { stdout, stderr, env, now: Date.now });
  let json: AdminRun["json"];
  try {
    json = JSON.parse(stdout.text);
  } catch {
    json = undefined;
  }
  return { code, stdout: stdout.text, stderr: stderr.text, json };
}
