// The cluster objects a template's Pod spec names by name and the API server must find when a
// pod of it is created: its PriorityClass, RuntimeClass and ServiceAccount. Each missing one makes
// every create of the template fail, so `hostfactory doctor` looks them up and requestMachines
// refuses a template whose PriorityClass is missing before it takes a request.

export type ReferenceKind = "PriorityClass" | "RuntimeClass" | "ServiceAccount";

export interface TemplateReference {
  kind: ReferenceKind;
  name: string;
}

/** What a lookup found: the object, its absence, or nothing it could tell (`error` says why). */
export type ReferenceFinding =
  | { state: "found" }
  | { state: "missing" }
  | { state: "unknown"; error: string };

/** Looks a reference up in the cluster (the sidecar's namespace, for a ServiceAccount). */
export type ReferenceLookup = (reference: TemplateReference) => Promise<ReferenceFinding>;

const FIELDS: [ReferenceKind, string][] = [
  ["PriorityClass", "priorityClassName"],
  ["RuntimeClass", "runtimeClassName"],
  ["ServiceAccount", "serviceAccountName"],
];

/** The objects `spec` names; an unset or empty name is none (the cluster's default applies). */
export function templateReferences(spec: Record<string, unknown>): TemplateReference[] {
  return FIELDS.flatMap(([kind, field]) => {
    const name = spec[field];
    return typeof name === "string" && name !== "" ? [{ kind, name }] : [];
  });
}
