import type { FieldGetter } from "./field-selector.ts";
import type { KubeObject, Node, Pod } from "./object-types.ts";

/** What the simulator serves for one resource: its discovery facts and selectable fields. */
export interface ResourceInfo {
  /** Plural name; also the store's key for the resource ("pods", "leases"). */
  readonly name: string;
  /** API group; "" for core. */
  readonly group: string;
  readonly version: string;
  /** "v1" or "group/version", as in objects' apiVersion. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly listKind: string;
  readonly singularName: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  /** Subresources served, e.g. { status: "Pod", eviction: "Eviction" } (name → kind). */
  readonly subresources: Readonly<
    Record<string, { kind: string; group?: string; version?: string; verbs: readonly string[] }>
  >;
  /** Field selector support beyond metadata.name and metadata.namespace. */
  readonly fieldGetters: Readonly<Record<string, FieldGetter>>;
  /** How names are validated: DNS-1123 subdomain, DNS-1123 label, or any path segment. */
  readonly nameRule: "subdomain" | "label" | "path-segment";
  /** "pods" or "leases.coordination.k8s.io", as the API server names it in messages. */
  readonly qualified: string;
}

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];
const CLUSTER_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

const str = (value: unknown): string =>
  value === undefined || value === null ? "" : String(value);

const metadataGetters: Record<string, FieldGetter> = {
  "metadata.name": (object) => str(object.metadata.name),
  "metadata.namespace": (object) => str(object.metadata.namespace),
};

const podGetters: Record<string, FieldGetter> = {
  ...metadataGetters,
  "spec.nodeName": (object) => str((object as Pod).spec?.nodeName),
  "spec.restartPolicy": (object) => str((object as Pod).spec?.restartPolicy),
  "spec.schedulerName": (object) => str((object as Pod).spec?.schedulerName),
  "spec.serviceAccountName": (object) => str((object as Pod).spec?.serviceAccountName),
  "spec.hostNetwork": (object) => String((object as Pod).spec?.hostNetwork === true),
  "status.phase": (object) => str((object as Pod).status?.phase),
  "status.podIP": (object) => str((object as Pod).status?.podIP),
  "status.nominatedNodeName": (object) => str((object as Pod).status?.nominatedNodeName),
};

const eventField =
  (...path: string[]): FieldGetter =>
  (object) => {
    let value: unknown = object;
    for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
    return str(value);
  };

const eventGetters: Record<string, FieldGetter> = {
  ...metadataGetters,
  "involvedObject.kind": eventField("involvedObject", "kind"),
  "involvedObject.namespace": eventField("involvedObject", "namespace"),
  "involvedObject.name": eventField("involvedObject", "name"),
  "involvedObject.uid": eventField("involvedObject", "uid"),
  "involvedObject.apiVersion": eventField("involvedObject", "apiVersion"),
  "involvedObject.resourceVersion": eventField("involvedObject", "resourceVersion"),
  "involvedObject.fieldPath": eventField("involvedObject", "fieldPath"),
  reason: eventField("reason"),
  reportingComponent: eventField("reportingComponent"),
  source: eventField("source", "component"),
  type: eventField("type"),
};

function resource(
  fields: Omit<ResourceInfo, "apiVersion" | "listKind" | "qualified" | "singularName">,
): ResourceInfo {
  return {
    ...fields,
    apiVersion: fields.group ? `${fields.group}/${fields.version}` : fields.version,
    listKind: `${fields.kind}List`,
    singularName: fields.kind.toLowerCase(),
    qualified: fields.group ? `${fields.name}.${fields.group}` : fields.name,
  };
}

export const PODS = resource({
  name: "pods",
  group: "",
  version: "v1",
  kind: "Pod",
  namespaced: true,
  shortNames: ["po"],
  verbs: ALL_VERBS,
  subresources: {
    status: { kind: "Pod", verbs: ["get", "patch", "update"] },
    eviction: { kind: "Eviction", group: "policy", version: "v1", verbs: ["create"] },
    binding: { kind: "Binding", verbs: ["create"] },
  },
  fieldGetters: podGetters,
  nameRule: "subdomain",
});

export const CONFIGMAPS = resource({
  name: "configmaps",
  group: "",
  version: "v1",
  kind: "ConfigMap",
  namespaced: true,
  shortNames: ["cm"],
  verbs: ALL_VERBS,
  subresources: {},
  fieldGetters: metadataGetters,
  nameRule: "subdomain",
});

export const EVENTS = resource({
  name: "events",
  group: "",
  version: "v1",
  kind: "Event",
  namespaced: true,
  shortNames: ["ev"],
  verbs: ALL_VERBS,
  subresources: {},
  fieldGetters: eventGetters,
  nameRule: "path-segment",
});

export const NODES = resource({
  name: "nodes",
  group: "",
  version: "v1",
  kind: "Node",
  namespaced: false,
  shortNames: ["no"],
  verbs: [...CLUSTER_VERBS, "deletecollection"],
  subresources: { status: { kind: "Node", verbs: ["get", "patch", "update"] } },
  fieldGetters: {
    ...metadataGetters,
    "spec.unschedulable": (object) => String((object as Node).spec?.unschedulable === true),
  },
  nameRule: "subdomain",
});

export const NAMESPACES = resource({
  name: "namespaces",
  group: "",
  version: "v1",
  kind: "Namespace",
  namespaced: false,
  shortNames: ["ns"],
  verbs: CLUSTER_VERBS,
  subresources: { status: { kind: "Namespace", verbs: ["get", "patch", "update"] } },
  fieldGetters: {
    ...metadataGetters,
    "status.phase": (object) => str((object.status as { phase?: string } | undefined)?.phase),
  },
  nameRule: "label",
});

export const RESOURCE_QUOTAS = resource({
  name: "resourcequotas",
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  namespaced: true,
  shortNames: ["quota"],
  verbs: ALL_VERBS,
  subresources: { status: { kind: "ResourceQuota", verbs: ["get", "patch", "update"] } },
  fieldGetters: metadataGetters,
  nameRule: "subdomain",
});

export const LEASES = resource({
  name: "leases",
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  namespaced: true,
  shortNames: [],
  verbs: ALL_VERBS,
  subresources: {},
  fieldGetters: metadataGetters,
  nameRule: "subdomain",
});

export const POD_DISRUPTION_BUDGETS = resource({
  name: "poddisruptionbudgets",
  group: "policy",
  version: "v1",
  kind: "PodDisruptionBudget",
  namespaced: true,
  shortNames: ["pdb"],
  verbs: ALL_VERBS,
  subresources: { status: { kind: "PodDisruptionBudget", verbs: ["get", "patch", "update"] } },
  fieldGetters: metadataGetters,
  nameRule: "subdomain",
});

/** Never stored: a create is answered with the authorization decision (authorization.ts). */
export const SELF_SUBJECT_ACCESS_REVIEWS = resource({
  name: "selfsubjectaccessreviews",
  group: "authorization.k8s.io",
  version: "v1",
  kind: "SelfSubjectAccessReview",
  namespaced: false,
  shortNames: [],
  verbs: ["create"],
  subresources: {},
  fieldGetters: metadataGetters,
  nameRule: "path-segment",
});

export const RESOURCES: readonly ResourceInfo[] = [
  PODS,
  CONFIGMAPS,
  EVENTS,
  NODES,
  NAMESPACES,
  RESOURCE_QUOTAS,
  LEASES,
  POD_DISRUPTION_BUDGETS,
  SELF_SUBJECT_ACCESS_REVIEWS,
];

/** The resource served at group/version/name, if any. */
export function findResource(
  group: string,
  version: string,
  name: string,
): ResourceInfo | undefined {
  return RESOURCES.find(
    (info) => info.group === group && info.version === version && info.name === name,
  );
}

/** The resource stored under `name` ("pods"); throws for a name the simulator does not serve. */
export function resourceNamed(name: string): ResourceInfo {
  const info = RESOURCES.find((candidate) => candidate.name === name);
  if (!info) {
    throw new Error(
      `the simulator does not serve resource "${name}"; served: ${RESOURCES.map((r) => r.name).join(", ")}`,
    );
  }
  return info;
}

/** An object's namespace as stored ("" for cluster-scoped ones). */
export function namespaceOf(object: KubeObject): string {
  return object.metadata.namespace ?? "";
}
