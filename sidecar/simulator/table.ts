import type { KubeObject, Node, Pod } from "./object-types.ts";

/**
 * Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for, with the columns
 * the real API server prints for each resource.
 */

export interface ColumnDefinition {
  name: string;
  type: "string" | "integer" | "date";
  format: string;
  description: string;
  priority: number;
}

type Cell = string | number;

interface Printer {
  columns: ColumnDefinition[];
  cells(object: KubeObject, now: number): Cell[];
}

export type IncludeObject = "None" | "Metadata" | "Object";

const column = (
  name: string,
  type: ColumnDefinition["type"] = "string",
  priority = 0,
  format = "",
): ColumnDefinition => ({
  name,
  type,
  format,
  description: name,
  priority,
});

const NAME = column("Name", "string", 0, "name");
const AGE = column("Age");

/** kubectl's HumanDuration: "42s", "5m3s", "3h", "2d4h", "400d", "3y20d". */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(seconds / 3600);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 730) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return `${years}y${days % 365}d`;
  return `${years}y`;
}

function age(timestamp: string | undefined, now: number): string {
  return timestamp ? humanDuration(now - Date.parse(timestamp)) : "<unknown>";
}

/** The STATUS column of `kubectl get pods`, in the same precedence as kubectl's printer. */
export function podStatusText(pod: Pod): string {
  let reason = pod.status?.reason ?? pod.status?.phase ?? "Unknown";
  for (const status of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    const { waiting, terminated } = status.state;
    if (waiting?.reason) reason = waiting.reason;
    else if (terminated) reason = terminated.reason ?? `ExitCode:${terminated.exitCode}`;
  }
  if (pod.metadata.deletionTimestamp)
    reason = pod.status?.reason === "NodeLost" ? "Unknown" : "Terminating";
  return reason;
}

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [
      NAME,
      column("Ready"),
      column("Status"),
      column("Restarts", "string"),
      AGE,
      column("IP", "string", 1),
      column("Node", "string", 1),
      column("Nominated Node", "string", 1),
      column("Readiness Gates", "string", 1),
    ],
    cells(object, now) {
      const pod = object as Pod;
      const statuses = pod.status?.containerStatuses ?? [];
      const ready = statuses.filter((status) => status.ready).length;
      const restarts = statuses.reduce((sum, status) => sum + status.restartCount, 0);
      return [
        pod.metadata.name ?? "",
        `${ready}/${pod.spec.containers.length}`,
        podStatusText(pod),
        String(restarts),
        age(pod.metadata.creationTimestamp, now),
        pod.status?.podIP ?? "<none>",
        pod.spec.nodeName ?? "<none>",
        "<none>",
        "<none>",
      ];
    },
  },
  configmaps: {
    columns: [NAME, column("Data", "integer"), AGE],
    cells: (object, now) => [
      object.metadata.name ?? "",
      Object.keys((object.data as object | undefined) ?? {}).length +
        Object.keys((object.binaryData as object | undefined) ?? {}).length,
      age(object.metadata.creationTimestamp, now),
    ],
  },
  events: {
    columns: [
      column("Last Seen"),
      column("Type"),
      column("Reason"),
      column("Object"),
      column("Message"),
    ],
    cells(object, now) {
      const involved = (object.involvedObject ?? {}) as { kind?: string; name?: string };
      const last = (object.lastTimestamp ??
        object.eventTime ??
        object.metadata.creationTimestamp) as string | undefined;
      return [
        age(last, now),
        String(object.type ?? ""),
        String(object.reason ?? ""),
        `${(involved.kind ?? "").toLowerCase()}/${involved.name ?? ""}`,
        String(object.message ?? ""),
      ];
    },
  },
  nodes: {
    columns: [
      NAME,
      column("Status"),
      column("Roles"),
      AGE,
      column("Version"),
      column("Internal-IP", "string", 1),
    ],
    cells(object, now) {
      const node = object as Node;
      const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
      const status = [ready?.status === "True" ? "Ready" : "NotReady"];
      if (node.spec?.unschedulable) status.push("SchedulingDisabled");
      const roles = Object.keys(node.metadata.labels ?? {})
        .filter((label) => label.startsWith("node-role.kubernetes.io/"))
        .map((label) => label.slice("node-role.kubernetes.io/".length));
      const nodeInfo = (node.status?.nodeInfo ?? {}) as { kubeletVersion?: string };
      return [
        node.metadata.name ?? "",
        status.join(","),
        roles.length > 0 ? roles.join(",") : "<none>",
        age(node.metadata.creationTimestamp, now),
        nodeInfo.kubeletVersion ?? "",
        node.status?.addresses?.find((address) => address.type === "InternalIP")?.address ??
          "<none>",
      ];
    },
  },
  namespaces: {
    columns: [NAME, column("Status"), AGE],
    cells: (object, now) => [
      object.metadata.name ?? "",
      String((object.status as { phase?: string } | undefined)?.phase ?? ""),
      age(object.metadata.creationTimestamp, now),
    ],
  },
  resourcequotas: {
    columns: [NAME, AGE, column("Request"), column("Limit")],
    cells(object, now) {
      const status = object.status as
        | { hard?: Record<string, string>; used?: Record<string, string> }
        | undefined;
      const request: string[] = [];
      const limit: string[] = [];
      for (const resource of Object.keys(status?.hard ?? {}).sort()) {
        const cell = `${resource}: ${status?.used?.[resource] ?? "0"}/${status?.hard?.[resource]}`;
        (resource.startsWith("limits.") ? limit : request).push(cell);
      }
      return [
        object.metadata.name ?? "",
        age(object.metadata.creationTimestamp, now),
        request.join(", "),
        limit.join(", "),
      ];
    },
  },
  leases: {
    columns: [NAME, column("Holder"), AGE],
    cells: (object, now) => [
      object.metadata.name ?? "",
      String((object.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? ""),
      age(object.metadata.creationTimestamp, now),
    ],
  },
};

function rowObject(object: KubeObject, include: IncludeObject): unknown {
  if (include === "Object") return object;
  if (include === "None") return undefined;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: object.metadata };
}

/** A Table of `objects` of `resource`; list metadata (resourceVersion, continue) is the caller's. */
export function toTable(
  resource: string,
  objects: readonly KubeObject[],
  include: IncludeObject,
  metadata: Record<string, unknown>,
  now: number,
): unknown {
  const printer = PRINTERS[resource] as Printer;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: printer.columns,
    rows: objects.map((object) => ({
      cells: printer.cells(object, now),
      object: rowObject(object, include),
    })),
  };
}
