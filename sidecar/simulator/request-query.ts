import type { DeleteOptions } from "./rest-delete.ts";
import type { ListQuery } from "./rest-list.ts";
import { badRequest } from "./status-error.ts";

export function optionalInt(query: URLSearchParams, key: string): number | undefined {
  const text = query.get(key);
  if (text === null || text === "") return undefined;
  if (!/^-?\d+$/.test(text))
    throw badRequest(`${key}: Invalid value: "${text}": must be an integer`);
  return Number(text);
}

export function listQueryFrom(query: URLSearchParams): ListQuery {
  return {
    labelSelector: query.get("labelSelector"),
    fieldSelector: query.get("fieldSelector"),
    limit: optionalInt(query, "limit"),
    continue: query.get("continue"),
    resourceVersion: query.get("resourceVersion"),
    resourceVersionMatch: query.get("resourceVersionMatch"),
  };
}

/** DeleteOptions from the body, overridden by the query parameters that name the same thing. */
export function deleteOptionsFrom(query: URLSearchParams, body: unknown): DeleteOptions {
  const fromBody = (body && typeof body === "object" ? body : {}) as DeleteOptions;
  const grace = optionalInt(query, "gracePeriodSeconds");
  const policy = query.get("propagationPolicy");
  const dryRun = query.getAll("dryRun");
  const orphan = query.get("orphanDependents");
  return {
    ...fromBody,
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
    ...(policy ? { propagationPolicy: policy as DeleteOptions["propagationPolicy"] } : {}),
    ...(dryRun.length > 0 ? { dryRun } : {}),
    ...(orphan !== null ? { orphanDependents: orphan === "true" } : {}),
  };
}
