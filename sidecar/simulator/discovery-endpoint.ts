import type { ServerResponse } from "node:http";
import type { Counters } from "./counters.ts";
import { coreVersions, group, groupList, resourceList, versionInfo } from "./discovery.ts";
import { openApiDocument, openApiIndex } from "./openapi.ts";
import { send } from "./response-encoding.ts";

/** The document a GET of a discovery, OpenAPI or version path answers; undefined for others. */
function discoveryDocument(segments: string[], host: string): unknown {
  const path = `/${segments.join("/")}`;
  if (path === "/version") return versionInfo();
  if (path === "/api") return coreVersions(host);
  if (path === "/apis") return groupList();
  if (path === "/openapi/v3") return openApiIndex();
  if (segments[0] === "openapi" && segments[1] === "v3") {
    return openApiDocument(segments.slice(2).join("/"));
  }
  if (segments[0] === "api" && segments.length === 2) return resourceList(segments[1] as string);
  if (segments[0] === "apis" && segments.length === 2) return group(segments[1] as string);
  if (segments[0] === "apis" && segments.length === 3) {
    return resourceList(`${segments[1]}/${segments[2]}`);
  }
  return undefined;
}

/** Answers the health, version, discovery and OpenAPI paths; false for any other path. */
export function serveDiscovery(
  segments: string[],
  response: ServerResponse,
  host: string,
  counters: Counters,
): boolean {
  const path = `/${segments.join("/")}`;
  if (path === "/healthz" || path === "/readyz" || path === "/livez") {
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.end("ok");
    return true;
  }
  const document = discoveryDocument(segments, host);
  if (document === undefined) return false;
  counters.count("get", path);
  send(response, 200, JSON.stringify(document));
  return true;
}
