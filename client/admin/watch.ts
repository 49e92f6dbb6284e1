// `hostfactory watch <id>`: follows a request through ProviderService.WatchRequest until it is
// final. On a terminal, one line redrawn in place (a progress bar and the time so far); otherwise
// a plain line per change, fit for logs; with --json, one JSON document per line.
import {
  MachineResult,
  type Request,
  RequestKind,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { ClientError, invalidInput } from "../errors.ts";
import { AdminExit, type AdminIo, type Run } from "./context.ts";
import { hostFactoryMachineView, kindName, statusName } from "./format.ts";

/** How often the terminal line is redrawn between changes, to keep the time current. */
const REDRAW_INTERVAL_MS = 1000;
const BAR_WIDTH = 30;
/** Terminal width assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;
const ERASE_LINE = "\r\x1b[2K";

interface Progress {
  total: number;
  finished: number;
  failed: number;
}

function progressOf(request: Request): Progress {
  const finished = request.machines.filter(
    (m) => m.result !== MachineResult.MACHINE_RESULT_EXECUTING,
  ).length;
  const failed = request.machines.filter(
    (m) => m.result === MachineResult.MACHINE_RESULT_FAIL,
  ).length;
  return { total: request.machines.length, finished, failed };
}

function counts(request: Request): string {
  const { total, finished, failed } = progressOf(request);
  const noun = request.kind === RequestKind.REQUEST_KIND_RETURN ? "gone" : "done";
  return `${finished}/${total} ${noun}, ${failed} failed`;
}

function elapsed(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Shows each update as the output allows. */
function createDisplay(io: AdminIo, json: boolean, started: number) {
  const terminal = !json && io.stdout.isTTY === true;
  let last: Request | undefined;
  let timer: NodeJS.Timeout | undefined;

  const line = (request: Request) => {
    const { total, finished } = progressOf(request);
    const filled = total === 0 ? BAR_WIDTH : Math.round((finished / total) * BAR_WIDTH);
    const bar = `[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}]`;
    const text = `${request.requestId} ${bar} ${counts(request)}  ${statusName(request.status)}  ${elapsed(io.now() - started)}`;
    return text.slice(0, (io.stdout.columns ?? DEFAULT_COLUMNS) - 1);
  };
  const redraw = () => {
    if (last) io.stdout.write(`${ERASE_LINE}${line(last)}`);
  };

  return {
    update(request: Request) {
      last = request;
      // An unknown id is answered once, as final: it is reported as an error, not drawn.
      if (request.kind === RequestKind.REQUEST_KIND_UNSPECIFIED) return;
      const now = new Date(io.now()).toISOString();
      if (json) {
        const document = {
          time: now,
          requestId: request.requestId,
          kind: kindName(request.kind),
          templateId: request.templateId,
          status: statusName(request.status),
          message: request.message,
          machines: request.machines.map(hostFactoryMachineView),
        };
        io.stdout.write(`${JSON.stringify(document)}\n`);
      } else if (terminal) {
        redraw();
        if (!timer) timer = setInterval(redraw, REDRAW_INTERVAL_MS);
      } else {
        const message = request.message ? `: ${request.message}` : "";
        io.stdout.write(
          `${now} ${request.requestId} ${statusName(request.status)} ${counts(request)}${message}\n`,
        );
      }
    },
    /** Ends the display; with a final status, says how it ended. */
    finish() {
      clearInterval(timer);
      if (!terminal || !last || last.kind === RequestKind.REQUEST_KIND_UNSPECIFIED) return;
      redraw();
      const outcome = last.message ? `: ${last.message}` : "";
      io.stdout.write(
        `\n${statusName(last.status)} after ${elapsed(io.now() - started)}${outcome}\n`,
      );
    },
  };
}

export const watchRequest: Run = async (args, context) => {
  const requestId = args.id as string | undefined;
  if (!requestId) throw invalidInput("which request? hostfactory watch REQUEST_ID");
  // No deadline unless one is asked for: a request may take as long as its Pending timeout.
  const deadlineMs = args.timeout === undefined ? undefined : context.settings().timeoutMs;
  const sidecar = await context.sidecar();
  const display = createDisplay(context.io, context.json, context.io.now());
  let last: Request | undefined;
  try {
    last = await sidecar.watch(requestId, (request) => display.update(request), deadlineMs);
  } finally {
    display.finish();
  }
  if (!last)
    throw new ClientError("sidecar_failed", "the sidecar ended the watch without a status");
  if (last.kind === RequestKind.REQUEST_KIND_UNSPECIFIED) throw invalidInput(last.message);
  if (last.status === RequestStatus.REQUEST_STATUS_COMPLETE) return AdminExit.SUCCESS;
  if (last.status === RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR) return AdminExit.PROBLEMS;
  throw new ClientError(
    "sidecar_failed",
    `the sidecar ended the watch of ${requestId} before it was final (it may be shutting down): watch it again`,
  );
};
