import type { ServerResponse } from "node:http";
import type { KubeObject } from "./object-types.ts";
import type { ResourceInfo } from "./resources.ts";
import type { ListResult } from "./rest-list.ts";
import type { StatusError } from "./status-error.ts";
import { toJson } from "./store-event.ts";
import { type IncludeObject, toTable } from "./table.ts";

/** The body Go's http.NotFound writes, which the API server sends for paths no group serves. */
const PAGE_NOT_FOUND = "404 page not found\n";

/** What the eviction and binding subresources answer. */
const CREATED_STATUS = JSON.stringify({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Success",
  code: 201,
});

/** The `as=Table` media type `kubectl get` asks for, and what each row should carry. */
export function tableRequest(
  accept: string | undefined,
  query: URLSearchParams,
): IncludeObject | undefined {
  if (!accept || !/;\s*as=Table/.test(accept)) return undefined;
  const include = query.get("includeObject");
  return include === "None" || include === "Object" ? include : "Metadata";
}

export function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

export function send(
  response: ServerResponse,
  code: number,
  body: string,
  headers: Record<string, string> = {},
) {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

function sendPlainText(
  response: ServerResponse,
  code: number,
  text: string,
  headers: Record<string, string> = {},
) {
  response.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", ...headers });
  response.end(text);
}

/** No API group answers the path: the API server's mux answers as Go's http.NotFound. */
export function sendPageNotFound(response: ServerResponse) {
  sendPlainText(response, 404, PAGE_NOT_FOUND);
}

export function sendCreatedStatus(response: ServerResponse) {
  send(response, 201, CREATED_STATUS);
}

/** One object, as JSON or as a Table when the client asked for one. */
export function sendObject(
  response: ServerResponse,
  code: number,
  info: ResourceInfo,
  object: KubeObject,
  table: IncludeObject | undefined,
) {
  if (table) {
    send(response, code, JSON.stringify(toTable(info.name, [object], table, {}, Date.now())));
  } else {
    send(response, code, toJson(object));
  }
}

/** A list, as JSON or as a Table when the client asked for one. */
export function sendList(
  response: ServerResponse,
  info: ResourceInfo,
  result: ListResult,
  table: IncludeObject | undefined,
) {
  if (table) {
    const metadata: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
    if (result.continue) metadata.continue = result.continue;
    send(
      response,
      200,
      JSON.stringify(toTable(info.name, result.items, table, metadata, Date.now())),
    );
  } else {
    send(response, 200, listJson(info, result));
  }
}

export function listJson(info: ResourceInfo, result: ListResult): string {
  const metadata: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
  if (result.continue) metadata.continue = result.continue;
  if (result.remainingItemCount !== undefined)
    metadata.remainingItemCount = result.remainingItemCount;
  const items = result.items.map(toJson).join(",");
  return `{"kind":"${info.listKind}","apiVersion":"${info.apiVersion}","metadata":${JSON.stringify(metadata)},"items":[${items}]}`;
}

export function successStatus(info: ResourceInfo, object: KubeObject): string {
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: {
      name: object.metadata.name,
      ...(info.group ? { group: info.group } : {}),
      kind: info.name,
      uid: object.metadata.uid,
    },
  });
}

/** The error as a Status (or the plain text some errors carry); a started answer is cut off. */
export function sendError(response: ServerResponse, error: StatusError) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  if (error.plainText !== undefined) {
    sendPlainText(response, error.code, error.plainText, error.headers);
    return;
  }
  send(response, error.code, JSON.stringify(error.status), error.headers);
}
