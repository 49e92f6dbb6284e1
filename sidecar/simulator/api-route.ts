import { findResource, RESOURCES, type ResourceInfo } from "./resources.ts";

/** What a resource path names. */
export interface Route {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** Resolves /api/v1/... and /apis/group/v1/... resource paths. */
export function parseResourcePath(segments: string[]): Route | "discovery" | undefined {
  let group = "";
  let rest: string[];
  let version: string | undefined;
  if (segments[0] === "api") {
    version = segments[1];
    rest = segments.slice(2);
  } else {
    group = segments[1] ?? "";
    version = segments[2];
    rest = segments.slice(3);
  }
  if (!version) return undefined;
  if (rest.length === 0) return "discovery";
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    findResource(group, version, rest[2] as string)
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = findResource(group, version, rest[0] as string);
  if (!info || rest.length > 3) return undefined;
  if (info.namespaced && namespace === undefined && rest.length > 1) return undefined;
  if (!info.namespaced && namespace !== undefined) return undefined;
  const subresource = rest[2];
  if (subresource !== undefined && !Object.hasOwn(info.subresources, subresource)) return undefined;
  return { info, namespace, name: rest[1], subresource };
}

/** The Kubernetes verb of a request, as authorization and the counters name it. */
export function verbOf(method: string, route: Route, query: URLSearchParams): string | undefined {
  const watch = query.get("watch");
  switch (method) {
    case "GET":
      if (route.name !== undefined) return "get";
      return watch === "true" || watch === "1" ? "watch" : "list";
    case "POST":
      return route.name === undefined || route.subresource ? "create" : undefined;
    case "PUT":
      return route.name === undefined ? undefined : "update";
    case "PATCH":
      return route.name === undefined ? undefined : "patch";
    case "DELETE":
      return route.name === undefined ? "deletecollection" : "delete";
    default:
      return undefined;
  }
}

/** "pods", or "pods/status" for a subresource. */
export function resourceOf(route: Route): string {
  return route.subresource ? `${route.info.name}/${route.subresource}` : route.info.name;
}

/** Whether the path is under a group version the simulator serves (/api/v1, /apis/g/v). */
export function servesGroupVersion(segments: string[]): boolean {
  return segments[0] === "api"
    ? segments[1] === "v1"
    : segments[0] === "apis" &&
        RESOURCES.some((info) => info.group === segments[1] && info.version === segments[2]);
}
