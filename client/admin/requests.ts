// `hostfactory requests` and `hostfactory request <id>`.
import { ListRequestsRequest, RequestSummary } from "../../proto/gen/hostfactory/v1/admin.ts";
import { RequestKind } from "../../proto/gen/hostfactory/v1/provider.ts";
import { invalidInput } from "../errors.ts";
import { AdminExit, type Run } from "./context.ts";
import {
  age,
  fields,
  hostFactoryMachineView,
  machineView,
  requestView,
  table,
  timelineView,
} from "./format.ts";

const KINDS: Record<string, RequestKind> = {
  create: RequestKind.REQUEST_KIND_CREATE,
  return: RequestKind.REQUEST_KIND_RETURN,
};

export const listRequests: Run = async (args, context) => {
  const sidecar = await context.sidecar();
  const { requests } = await sidecar.call(
    "listRequests",
    ListRequestsRequest.fromPartial({
      kind: KINDS[String(args.kind)] ?? RequestKind.REQUEST_KIND_UNSPECIFIED,
      templateId: (args.template as string | undefined) ?? "",
      runningOnly: args.running === true,
    }),
  );
  const views = requests.map(requestView);
  const now = context.io.now();
  context.print({ requests: views }, () => {
    if (views.length === 0) return "No requests.\n";
    return table(
      [
        "REQUEST",
        "KIND",
        "TEMPLATE",
        "STATUS",
        "MACHINES",
        "EXECUTING",
        "SUCCEEDED",
        "FAILED",
        "AGE",
      ],
      requests.map((r, i) => {
        const view = views[i] as ReturnType<typeof requestView>;
        return [
          view.requestId,
          view.kind,
          view.templateId || "-",
          view.status,
          String(view.machineCount),
          String(view.executing),
          String(view.succeeded),
          String(view.failed),
          age(r.createTimeMs, now),
        ];
      }),
    );
  });
  return AdminExit.SUCCESS;
};

export const showRequest: Run = async (args, context) => {
  const requestId = args.id as string | undefined;
  if (!requestId) throw invalidInput("which request? hostfactory request REQUEST_ID");
  const sidecar = await context.sidecar();
  const answer = await sidecar.call("getRequest", { requestId });
  const summary = requestView(answer.summary ?? RequestSummary.fromPartial({}));
  const machines = (answer.request?.machines ?? []).map(hostFactoryMachineView);
  const pods = answer.pods.map(machineView);
  const timeline = answer.timeline.map(timelineView);
  const document = {
    request: summary,
    machines,
    pods,
    timeline,
    timelineWarning: answer.timelineWarning,
  };
  context.print(document, () => {
    const now = context.io.now();
    const created = answer.summary?.createTimeMs ?? 0;
    const completed = answer.summary?.completeTimeMs ?? 0;
    const done = `${summary.executing} executing, ${summary.succeeded} succeeded, ${summary.failed} failed`;
    let text = fields([
      ["Request", summary.requestId],
      ["Kind", summary.kind],
      ...(summary.templateId ? [["Template", summary.templateId] as [string, string]] : []),
      ...(summary.rcAccount ? [["rc_account", summary.rcAccount] as [string, string]] : []),
      ["Status", summary.message ? `${summary.status}: ${summary.message}` : summary.status],
      ["Machines", `${summary.machineCount} (${done})`],
      ["Created", `${summary.createdAt} (${age(created, now)} ago)`],
      [
        "Completed",
        completed ? `${summary.completedAt} (after ${seconds(completed - created)})` : "-",
      ],
    ]);
    const byPod = new Map(pods.map((pod) => [pod.name, pod]));
    if (machines.length > 0) {
      text += `\n${table(
        ["MACHINE", "RESULT", "STATUS", "POD", "NODE", "IP", "MESSAGE"],
        machines.map((m) => {
          const pod = byPod.get(m.name.split(".")[0] ?? m.name);
          return [
            m.name,
            m.result,
            m.status,
            pod ? `${pod.phase}${pod.ready ? "" : " (not ready)"}` : "-",
            pod?.node || "-",
            m.privateIpAddress || "-",
            m.message,
          ];
        }),
      )}`;
    }
    text += `\nTimeline (from ${summary.createdAt}):\n`;
    text += table(
      ["", "AFTER", "MACHINE", "WHAT", "DETAIL"],
      answer.timeline.map((entry, i) => [
        entry.warning ? "!" : " ",
        `+${seconds(entry.timeMs - created)}`,
        entry.machine || "-",
        timeline[i]?.what ?? "",
        entry.detail,
      ]),
    );
    if (answer.timelineWarning) text += `(incomplete: ${answer.timelineWarning})\n`;
    return text;
  });
  return AdminExit.SUCCESS;
};

/** 1.2s, 75s, 12m 5s. */
function seconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
}
