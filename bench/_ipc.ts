// Request/response over a forked child's IPC channel, so the benchmark can drive the simulator
// and the sidecar in processes of their own (their CPU and memory stay theirs).
import { type ChildProcess, fork } from "node:child_process";

type Handlers = Record<string, (args: never) => unknown>;

interface Request {
  id: number;
  command: string;
  args: unknown;
}

type Reply = { id: number; result: unknown } | { id: number; error: string } | { ready: unknown };

/** In the child: answers the parent's calls; tells it `ready` once `handlers` are served. */
export function serveParent(handlers: Handlers, ready: unknown): void {
  process.on("message", async (message: Request) => {
    const handler = handlers[message.command];
    try {
      if (!handler) throw new Error(`unknown command ${message.command}`);
      const result = await handler(message.args as never);
      process.send?.({ id: message.id, result } satisfies Reply);
    } catch (error) {
      process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) });
    }
  });
  process.send?.({ ready } satisfies Reply);
}

export interface ChildHandle<H extends Handlers> {
  readonly pid: number;
  /** What the child sent with `ready`. */
  readonly ready: unknown;
  /** Why the child is gone, once it has exited; undefined while it runs. */
  readonly exited: string | undefined;
  call<C extends keyof H & string>(
    command: C,
    ...args: Parameters<H[C]> extends [] ? [] : [Parameters<H[C]>[0]]
  ): Promise<Awaited<ReturnType<H[C]>>>;
  /** Ends the child (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/** Forks `module` and waits for it to be ready. */
export function forkChild<H extends Handlers>(
  module: string,
  args: string[],
  execArgv: string[] = [],
): Promise<ChildHandle<H>> {
  const child: ChildProcess = fork(module, args, {
    execArgv,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  return new Promise((resolve, reject) => {
    child.once("exit", (code, signal) => {
      exitReason = `${module} exited (${signal ?? code})`;
      const error = new Error(exitReason);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
    child.on("message", (reply: Reply) => {
      if ("ready" in reply) {
        resolve({
          pid: child.pid as number,
          ready: reply.ready,
          get exited() {
            return exitReason;
          },
          call: (command, ...rest) =>
            new Promise((resolveCall, rejectCall) => {
              const id = nextId++;
              pending.set(id, {
                resolve: resolveCall as (v: unknown) => void,
                reject: rejectCall,
              });
              child.send({ id, command, args: rest[0] } satisfies Request);
            }),
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
            await exited;
            clearTimeout(timer);
          },
        });
        return;
      }
      const waiter = pending.get(reply.id);
      if (!waiter) return;
      pending.delete(reply.id);
      if ("error" in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.result);
    });
  });
}
