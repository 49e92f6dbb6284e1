// `hostfactory machines`: the pods of this provider instance.
import { ListMachinesRequest } from "../../proto/gen/hostfactory/v1/admin.ts";
import { AdminExit, type Run } from "./context.ts";
import { age, machineView, table } from "./format.ts";

export const listMachines: Run = async (args, context) => {
  const sidecar = await context.sidecar();
  const { machines } = await sidecar.call(
    "listMachines",
    ListMachinesRequest.fromPartial({
      requestId: (args.request as string | undefined) ?? "",
      templateId: (args.template as string | undefined) ?? "",
    }),
  );
  const now = context.io.now();
  context.print({ machines: machines.map(machineView) }, () => {
    if (machines.length === 0) return "No machines.\n";
    return table(
      ["MACHINE", "PHASE", "READY", "NODE", "IP", "AGE", "REQUEST", "TEMPLATE", "NOTE"],
      machines.map((m) => [
        m.name,
        m.phase,
        m.ready ? "yes" : "no",
        m.nodeName || "-",
        m.podIp || "-",
        age(m.createTimeMs, now),
        m.requestId || "-",
        m.templateId || "-",
        [
          m.deleteTimeMs > 0 ? "deleting" : "",
          m.returning ? "returned" : "",
          m.orphan ? "orphan: no request claims it" : "",
          m.reason,
        ]
          .filter(Boolean)
          .join("; "),
      ]),
    );
  });
  return AdminExit.SUCCESS;
};
