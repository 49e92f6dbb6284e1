import { forbidden, invalid, type StatusError } from "./status-error.ts";

/**
 * Authorization, as RBAC would decide it for the one user the simulator knows: everything is
 * allowed unless a denial rule matches. Denials are enforced on API requests (403 Forbidden with
 * the API server's message) and answered truthfully by SelfSubjectAccessReview, so a test can
 * take a permission away and see both what the provider does and what a permission check says.
 */

/** The user every request is made as (the kubeconfig's token names no one in particular). */
export const SIMULATED_USER = "simulator";

/** Requests a denial applies to; an omitted field matches everything. */
export interface AccessRule {
  /** API verbs: get, list, watch, create, update, patch, delete, deletecollection. */
  verbs?: string[];
  /** Resources, with subresource where there is one: "pods", "pods/eviction", "leases". */
  resources?: string[];
  /** API groups: "" for core, "coordination.k8s.io", … */
  groups?: string[];
  namespaces?: string[];
  /** Object names; a rule with names never matches a request without one (list, create). */
  names?: string[];
}

/** What one request asks to do, in the terms of Kubernetes' authorization attributes. */
export interface AccessAttributes {
  verb: string;
  group: string;
  /** With the subresource where there is one: "pods/eviction". */
  resource: string;
  /** "" for cluster-scoped requests. */
  namespace: string;
  /** "" when the request names no object. */
  name: string;
}

export interface Authorization {
  /** Adds a denial; returns a function that lifts it. */
  deny(rule: AccessRule): () => void;
  /** The denials in force. */
  rules(): AccessRule[];
  /** Lifts every denial. */
  clear(): void;
  allows(attributes: AccessAttributes): boolean;
  /** Throws 403 Forbidden, worded as the API server words it, unless the request is allowed. */
  check(attributes: AccessAttributes): void;
  /** Answers a SelfSubjectAccessReview (the object the API returns for a create). */
  review(body: unknown): unknown;
}

const matches = (list: string[] | undefined, value: string) =>
  list === undefined || list.includes("*") || list.includes(value);

function ruleMatches(rule: AccessRule, request: AccessAttributes): boolean {
  return (
    matches(rule.verbs, request.verb) &&
    matches(rule.resources, request.resource) &&
    matches(rule.groups, request.group) &&
    matches(rule.namespaces, request.namespace) &&
    (rule.names === undefined || (request.name !== "" && matches(rule.names, request.name)))
  );
}

/** The API server's Forbidden message. */
function forbiddenError(request: AccessAttributes): StatusError {
  const [resource = "", subresource] = request.resource.split("/");
  const qualified = request.group ? `${resource}.${request.group}` : resource;
  const object = request.name ? `${qualified} "${request.name}"` : qualified;
  const scope = request.namespace
    ? `in the namespace "${request.namespace}"`
    : "at the cluster scope";
  return forbidden(
    `${object} is forbidden: User "${SIMULATED_USER}" cannot ${request.verb} resource "${request.resource}" in API group "${request.group}" ${scope}`,
    {
      ...(request.name ? { name: request.name } : {}),
      ...(request.group ? { group: request.group } : {}),
      kind: subresource ? request.resource : resource,
    },
  );
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export function createAuthorization(initial: AccessRule[] = []): Authorization {
  let denials: AccessRule[] = [...initial];

  const allows = (request: AccessAttributes) => !denials.some((rule) => ruleMatches(rule, request));

  return {
    deny(rule) {
      const added = { ...rule };
      denials.push(added);
      return () => {
        denials = denials.filter((existing) => existing !== added);
      };
    },
    rules: () => denials.map((rule) => ({ ...rule })),
    clear() {
      denials = [];
    },
    allows,
    check(request) {
      if (!allows(request)) throw forbiddenError(request);
    },
    review(body) {
      const review = (body ?? {}) as { spec?: Record<string, unknown> };
      const spec = review.spec ?? {};
      const attributes = spec.resourceAttributes as ResourceAttributes | undefined;
      if ((attributes === undefined) === (spec.nonResourceAttributes === undefined)) {
        throw invalid(
          "SelfSubjectAccessReview",
          "",
          [
            {
              reason: "FieldValueRequired",
              field: "spec.resourceAttributes",
              message:
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            },
          ],
          "authorization.k8s.io",
        );
      }
      let allowed = true;
      if (attributes) {
        const resource = attributes.subresource
          ? `${attributes.resource ?? ""}/${attributes.subresource}`
          : (attributes.resource ?? "");
        allowed = allows({
          verb: attributes.verb ?? "",
          group: attributes.group ?? "",
          resource,
          namespace: attributes.namespace ?? "",
          name: attributes.name ?? "",
        });
      }
      return {
        kind: "SelfSubjectAccessReview",
        apiVersion: "authorization.k8s.io/v1",
        metadata: { creationTimestamp: null },
        spec,
        status: allowed
          ? { allowed: true, reason: "allowed: no simulator denial rule matches" }
          : { allowed: false, reason: "a simulator denial rule matches" },
      };
    },
  };
}
