// A request's pods and the Kubernetes Events about them and its record, as GetRequest shows them.

import { toKubeApiError } from "../kube/api-errors.ts";
import type { ClusterReads } from "../kube/cluster-reads.ts";
import { LABEL_INSTANCE, LABEL_REQUEST_ID, type RequestRecord } from "../provider/model.ts";
import { parsePodName, podName, podNameOfMachine, recordName } from "../provider/naming.ts";
import type { AdminSettings } from "./admin-context.ts";

/** The request's pods and the Events about them and its record; what cannot be read is told in
 * the warning, and the rest of the answer stands. */
export async function requestClusterView(
  settings: AdminSettings,
  cluster: ClusterReads,
  record: RequestRecord,
) {
  const instance = `${LABEL_INSTANCE}=${settings.instance}`;
  const names =
    record.kind === "create"
      ? Array.from({ length: record.machineCount }, (_, i) =>
          podName(settings.podNamePrefix, record.requestId, i),
        )
      : record.machines.map((m) => podNameOfMachine(m.name));
  const wanted = new Set(names);
  const warnings: string[] = [];
  let pods: Awaited<ReturnType<ClusterReads["pods"]>> = [];
  const creators =
    record.kind === "create"
      ? [record.requestId]
      : [
          ...new Set(
            names.flatMap((name) => parsePodName(settings.podNamePrefix, name)?.requestId ?? []),
          ),
        ];
  try {
    if (creators.length > 0) {
      const selector = `${instance},${LABEL_REQUEST_ID} in (${creators.join(",")})`;
      pods = (await cluster.pods(selector)).filter((p) => wanted.has(p.metadata?.name ?? ""));
    }
  } catch (error) {
    warnings.push(`the pods could not be read (${toKubeApiError(error).message})`);
  }
  let events: Awaited<ReturnType<ClusterReads["events"]>>["events"] = [];
  try {
    const found = await cluster.events(new Set([...names, recordName(record.requestId)]));
    events = found.events;
    if (!found.complete) warnings.push("the namespace has more Events than a timeline reads");
  } catch (error) {
    warnings.push(`Kubernetes Events could not be read (${toKubeApiError(error).message})`);
  }
  return { pods, events, warning: warnings.join("; ") };
}
