import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Authorization } from "./authorization.ts";
import type { Counters } from "./counters.ts";
import { coreVersions, group, groupList, resourceList, versionInfo } from "./discovery.ts";
import type { EventLog } from "./event-log.ts";
import type { Faults } from "./faults.ts";
import { parseFieldSelector } from "./field-selector.ts";
import { parseLabelSelector } from "./label-selector.ts";
import type { KubeObject } from "./object-types.ts";
import { openApiDocument, openApiIndex } from "./openapi.ts";
import { PATCH_CONTENT_TYPES } from "./patch.ts";
import {
  findResource,
  NAMESPACES,
  PODS,
  RESOURCES,
  type ResourceInfo,
  SELF_SUBJECT_ACCESS_REVIEWS,
} from "./resources.ts";
import type { DeleteOptions, ListResult, RestApi } from "./rest-api.ts";
import {
  badRequest,
  internalError,
  methodNotAllowed,
  pathNotFound,
  StatusError,
  unsupportedMediaType,
} from "./status-error.ts";
import type { Store } from "./store.ts";
import { toJson } from "./store-event.ts";
import { type IncludeObject, toTable } from "./table.ts";
import {
  createWatchConnection,
  type WatchConnection,
  type WatchFormat,
  type WatchStats,
} from "./watch-connection.ts";

/** Request bodies above this are refused with 413, as the API server's limit is 3 MiB. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;
/**
 * Bodies are decoded as JSON only (no YAML, no protobuf). kubectl's typed generators (`kubectl
 * create namespace`, `create configmap`, …) send protobuf; manifests given with -f go as JSON.
 */
const PROTOBUF_HINT =
  "the simulator decodes JSON bodies only; `kubectl create namespace|configmap|…` send protobuf, so write the object as a manifest and use `kubectl create -f` or `kubectl apply -f`";

/** The body Go's http.NotFound writes, which the API server sends for paths no group serves. */
const PAGE_NOT_FOUND = "404 page not found\n";

/** Answers the simulator's own admin paths (under /simulator/); see admin-endpoint.ts. */
export type AdminHandler = (
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
) => Promise<{ code: number; body: unknown; after?: () => Promise<void> }>;

export interface ApiServerOptions {
  host: string;
  port: number;
  store: Store;
  api: RestApi;
  counters: Counters;
  log: EventLog;
  bookmarkIntervalMs: number;
  /** Set once the faults exist (they need the server to act on). */
  faults: () => Faults | undefined;
  authorization: Authorization;
  admin: AdminHandler;
}

export interface ApiServer {
  /** "http://host:port". */
  readonly url: string;
  readonly port: number;
  /** Open watches, of one resource or all. */
  watchCount(resource?: string): number;
  /** Rendering done by all watches so far. */
  readonly watchStats: Readonly<WatchStats>;
  endWatches(how: "close" | "reset", resource?: string): number;
  setWatchesStalled(stalled: boolean): void;
  /** Drops every connection; with downtimeMs, stops listening for that long. */
  restart(downtimeMs: number): Promise<void>;
  close(): Promise<void>;
}

interface Route {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** Resolves /api/v1/... and /apis/group/v1/... resource paths. */
function parseResourcePath(segments: string[]): Route | "discovery" | undefined {
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

function verbOf(method: string, route: Route, query: URLSearchParams): string | undefined {
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

/** The `as=Table` media type `kubectl get` asks for, and what each row should carry. */
function tableRequest(
  accept: string | undefined,
  query: URLSearchParams,
): IncludeObject | undefined {
  if (!accept || !/;\s*as=Table/.test(accept)) return undefined;
  const include = query.get("includeObject");
  return include === "None" || include === "Object" ? include : "Metadata";
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new StatusError({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Request entity too large: limit is 3145728",
        reason: "RequestEntityTooLarge",
        code: 413,
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the body of the request was in an unknown format: ${(error as Error).message}`,
    );
  }
}

function optionalInt(query: URLSearchParams, key: string): number | undefined {
  const text = query.get(key);
  if (text === null || text === "") return undefined;
  if (!/^-?\d+$/.test(text))
    throw badRequest(`${key}: Invalid value: "${text}": must be an integer`);
  return Number(text);
}

function send(
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

function listJson(info: ResourceInfo, result: ListResult): string {
  const metadata: Record<string, unknown> = { resourceVersion: String(result.resourceVersion) };
  if (result.continue) metadata.continue = result.continue;
  if (result.remainingItemCount !== undefined)
    metadata.remainingItemCount = result.remainingItemCount;
  const items = result.items.map(toJson).join(",");
  return `{"kind":"${info.listKind}","apiVersion":"${info.apiVersion}","metadata":${JSON.stringify(metadata)},"items":[${items}]}`;
}

function successStatus(info: ResourceInfo, object: KubeObject): string {
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

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, api, counters, log } = options;
  const watches = new Set<WatchConnection>();
  const sockets = new Set<Socket>();
  let watchesStalled = false;
  const watchStats: WatchStats = { rendered: 0, delivered: 0 };
  let nextWatchId = 1;
  let url = "";

  const serveWatch = (
    route: Route,
    query: URLSearchParams,
    table: IncludeObject | undefined,
    response: ServerResponse,
  ) => {
    const { info } = route;
    const labels = parseLabelSelector(query.get("labelSelector"));
    const fields = parseFieldSelector(query.get("fieldSelector"), info.fieldGetters);
    const rvText = query.get("resourceVersion") ?? "";
    if (rvText !== "" && !/^\d+$/.test(rvText)) {
      throw badRequest(
        `resourceVersion: Invalid value: "${rvText}": must be a non-negative integer`,
      );
    }
    const sendInitialEvents = query.get("sendInitialEvents") === "true";
    const fromResourceVersion =
      sendInitialEvents || rvText === "" || rvText === "0" ? undefined : Number(rvText);
    const timeoutSeconds = optionalInt(query, "timeoutSeconds");
    const bookmarks =
      query.get("allowWatchBookmarks") === "true" || query.get("allowWatchBookmarks") === "1";
    const format: WatchFormat = table ? { kind: "table", include: table } : { kind: "object" };
    const namespace = info.namespaced ? route.namespace : undefined;

    response.writeHead(200, {
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
    response.flushHeaders();
    let unwatch: (() => void) | undefined;
    const connection = createWatchConnection({
      id: nextWatchId++,
      info,
      response,
      labels,
      fields,
      format,
      bookmarks,
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      timeoutMs:
        timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
      stalled: watchesStalled,
      currentResourceVersion: () => store.resourceVersion,
      stats: watchStats,
      onClose: (closed) => {
        watches.delete(closed);
        unwatch?.();
      },
    });
    watches.add(connection);
    if (fromResourceVersion === undefined) {
      connection.sendInitial(store.list(info.name, namespace));
      if (sendInitialEvents && bookmarks) {
        connection.sendBookmark({ "k8s.io/initial-events-end": "true" });
      }
    }
    try {
      unwatch = store.watch(info.name, namespace, fromResourceVersion, connection);
      if (connection.closed) unwatch();
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      connection.fail(error.status);
    }
  };

  const deleteOptionsFrom = (query: URLSearchParams, body: unknown): DeleteOptions => {
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
  };

  const serveResource = async (
    request: IncomingMessage,
    response: ServerResponse,
    route: Route,
    verb: string,
    query: URLSearchParams,
  ) => {
    const { info, namespace = "", name, subresource } = route;
    const table = tableRequest(request.headers.accept, query);
    const dryRun = query.getAll("dryRun").includes("All");
    const method = request.method ?? "GET";
    const hasBody =
      method === "POST" || method === "PUT" || method === "PATCH" || method === "DELETE";
    const contentType = mediaType(request.headers["content-type"]);
    const text = hasBody ? await readBody(request) : "";
    const objectReply = (code: number, object: KubeObject) => {
      if (table) {
        send(response, code, JSON.stringify(toTable(info.name, [object], table, {}, Date.now())));
      } else {
        send(response, code, toJson(object));
      }
    };
    if (
      (method === "POST" || method === "PUT") &&
      text.trim() !== "" &&
      contentType !== "application/json"
    ) {
      throw unsupportedMediaType(contentType, ["application/json"], PROTOBUF_HINT);
    }
    switch (verb) {
      case "get":
        objectReply(200, api.get(info, namespace, name as string));
        return;
      case "list": {
        const result = api.list(info, route.namespace, {
          labelSelector: query.get("labelSelector"),
          fieldSelector: query.get("fieldSelector"),
          limit: optionalInt(query, "limit"),
          continue: query.get("continue"),
          resourceVersion: query.get("resourceVersion"),
          resourceVersionMatch: query.get("resourceVersionMatch"),
        });
        if (table) {
          const metadata: Record<string, unknown> = {
            resourceVersion: String(result.resourceVersion),
          };
          if (result.continue) metadata.continue = result.continue;
          send(
            response,
            200,
            JSON.stringify(toTable(info.name, result.items, table, metadata, Date.now())),
          );
        } else {
          send(response, 200, listJson(info, result));
        }
        return;
      }
      case "watch":
        serveWatch(route, query, table, response);
        return;
      case "create": {
        const body = parseJson(text);
        if (subresource === "eviction") {
          api.evict(namespace, name as string, body);
          send(
            response,
            201,
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Success",
              code: 201,
            }),
          );
        } else if (subresource === "binding") {
          api.bind(namespace, name as string, body);
          send(
            response,
            201,
            JSON.stringify({
              kind: "Status",
              apiVersion: "v1",
              metadata: {},
              status: "Success",
              code: 201,
            }),
          );
        } else if (subresource !== undefined) {
          throw methodNotAllowed(`the server does not allow this method on the requested resource`);
        } else if (info === SELF_SUBJECT_ACCESS_REVIEWS) {
          send(response, 201, JSON.stringify(options.authorization.review(body)));
        } else {
          objectReply(201, api.create(info, namespace, body, { dryRun }));
        }
        return;
      }
      case "update":
        if (subresource !== undefined && subresource !== "status") {
          throw methodNotAllowed("the server does not allow this method on the requested resource");
        }
        objectReply(
          200,
          api.update(info, namespace, name as string, parseJson(text), subresource, { dryRun }),
        );
        return;
      case "patch":
        if (subresource !== undefined && subresource !== "status") {
          throw methodNotAllowed("the server does not allow this method on the requested resource");
        }
        if (!PATCH_CONTENT_TYPES.includes(contentType)) {
          throw unsupportedMediaType(contentType, PATCH_CONTENT_TYPES);
        }
        objectReply(
          200,
          api.patch(info, namespace, name as string, contentType, parseJson(text), subresource, {
            dryRun,
          }),
        );
        return;
      case "delete": {
        if (subresource !== undefined) {
          throw methodNotAllowed("the server does not allow this method on the requested resource");
        }
        const result = api.delete(
          info,
          namespace,
          name as string,
          deleteOptionsFrom(query, parseJson(text)),
        );
        if (!result.removed || info === PODS || info === NAMESPACES)
          objectReply(200, result.object);
        else send(response, 200, successStatus(info, result.object));
        return;
      }
      case "deletecollection": {
        const deleteOptions = deleteOptionsFrom(query, parseJson(text));
        const { items } = api.list(info, route.namespace, {
          labelSelector: query.get("labelSelector"),
          fieldSelector: query.get("fieldSelector"),
        });
        const deleted: KubeObject[] = [];
        for (const item of items) {
          try {
            deleted.push(
              api.delete(
                info,
                item.metadata.namespace ?? "",
                item.metadata.name as string,
                deleteOptions,
              ).object,
            );
          } catch (error) {
            // An object that went away meanwhile is simply not in the answer.
            if (!(error instanceof StatusError && error.code === 404)) throw error;
          }
        }
        send(
          response,
          200,
          listJson(info, { items: deleted, resourceVersion: store.resourceVersion }),
        );
        return;
      }
    }
  };

  const serveDiscovery = (segments: string[], response: ServerResponse): boolean => {
    const path = `/${segments.join("/")}`;
    let document: unknown;
    if (path === "/version") document = versionInfo();
    else if (path === "/api") document = coreVersions(new URL(url).host);
    else if (path === "/apis") document = groupList();
    else if (path === "/openapi/v3") document = openApiIndex();
    else if (segments[0] === "openapi" && segments[1] === "v3") {
      document = openApiDocument(segments.slice(2).join("/"));
    } else if (path === "/healthz" || path === "/readyz" || path === "/livez") {
      response.writeHead(200, { "Content-Type": "text/plain" });
      response.end("ok");
      return true;
    } else if (segments[0] === "api" && segments.length === 2)
      document = resourceList(segments[1] as string);
    else if (segments[0] === "apis" && segments.length === 2)
      document = group(segments[1] as string);
    else if (segments[0] === "apis" && segments.length === 3) {
      document = resourceList(`${segments[1]}/${segments[2]}`);
    }
    if (document === undefined) return false;
    counters.count("get", path);
    send(response, 200, JSON.stringify(document));
    return true;
  };

  /** Whether the path is under a group version the simulator serves (/api/v1, /apis/g/v). */
  const servesGroupVersion = (segments: string[]) =>
    segments[0] === "api"
      ? segments[1] === "v1"
      : segments[0] === "apis" &&
        RESOURCES.some((info) => info.group === segments[1] && info.version === segments[2]);

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const parsed = new URL(request.url ?? "/", "http://simulator");
    const segments = parsed.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const method = request.method ?? "GET";
    if (segments[0] === "simulator") {
      const text = await readBody(request);
      const reply = await options.admin(
        method,
        `/${segments.join("/")}`,
        parsed.searchParams,
        parseJson(text),
      );
      if (reply.after) response.once("finish", () => void reply.after?.());
      send(response, reply.code, JSON.stringify(reply.body));
      return;
    }
    if (method === "GET" && serveDiscovery(segments, response)) return;
    const route =
      segments[0] === "api" || segments[0] === "apis" ? parseResourcePath(segments) : undefined;
    if (!route || route === "discovery") {
      if (!servesGroupVersion(segments)) {
        // No API group answers this path: the API server's mux answers as Go's http.NotFound.
        response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
        response.end(PAGE_NOT_FOUND);
        return;
      }
      throw pathNotFound();
    }
    const verb = verbOf(method, route, parsed.searchParams);
    if (!verb || !route.info.verbs.includes(verb))
      throw methodNotAllowed("the server does not allow this method on the requested resource");
    const resource = route.subresource
      ? `${route.info.name}/${route.subresource}`
      : route.info.name;
    counters.count(verb, resource);
    response.once("finish", () => counters.countAnswer(verb, resource, response.statusCode));
    options.authorization.check({
      verb,
      group: route.info.group,
      resource,
      namespace: route.namespace ?? "",
      name: route.name ?? "",
    });
    const decision = options.faults()?.decide(verb, resource);
    if (decision && decision.delayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    }
    if (decision?.error) throw decision.error;
    await serveResource(request, response, route, verb, parsed.searchParams);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const statusError =
        error instanceof StatusError
          ? error
          : internalError((error as Error)?.message ?? String(error));
      if (!(error instanceof StatusError)) {
        log.record(
          "error",
          `${request.method} ${request.url}: ${(error as Error)?.stack ?? error}`,
        );
      }
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (statusError.plainText !== undefined) {
        response.writeHead(statusError.code, {
          "Content-Type": "text/plain; charset=utf-8",
          ...statusError.headers,
        });
        response.end(statusError.plainText);
        return;
      }
      send(response, statusError.code, JSON.stringify(statusError.status), statusError.headers);
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, options.host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
  const dropConnections = () => {
    for (const watch of [...watches]) watch.reset();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const port = await listen(options.port);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  url = `http://${host}:${port}`;

  return {
    url,
    port,
    watchStats,
    watchCount(resource) {
      let count = 0;
      for (const watch of watches)
        if (resource === undefined || watch.resource === resource) count++;
      return count;
    },
    endWatches(how, resource) {
      let count = 0;
      for (const watch of [...watches]) {
        if (resource !== undefined && watch.resource !== resource) continue;
        if (how === "close") watch.close();
        else watch.reset();
        count++;
      }
      return count;
    },
    setWatchesStalled(stalled) {
      watchesStalled = stalled;
      for (const watch of watches) {
        if (stalled) watch.stall();
        else watch.resume();
      }
    },
    async restart(downtimeMs) {
      if (downtimeMs > 0) {
        const stopped = stopListening();
        dropConnections();
        await stopped;
        await new Promise((resolve) => setTimeout(resolve, downtimeMs));
        await listen(port);
      } else {
        dropConnections();
      }
    },
    async close() {
      const stopped = stopListening();
      dropConnections();
      await stopped;
    },
  };
}
