import type { IncomingMessage, ServerResponse } from "node:http";
import { parseResourcePath, servesGroupVersion, verbOf } from "./api-route.ts";
import type { Authorization } from "./authorization.ts";
import type { Counters } from "./counters.ts";
import { serveDiscovery } from "./discovery-endpoint.ts";
import type { EventLog } from "./event-log.ts";
import type { Faults } from "./faults.ts";
import { createHttpListener } from "./http-listener.ts";
import { createOpenWatches } from "./open-watches.ts";
import { admitRequest } from "./request-admission.ts";
import { parseJson, readBody } from "./request-body.ts";
import { type ResourceEndpointContext, serveResource } from "./resource-endpoint.ts";
import { send, sendError, sendPageNotFound } from "./response-encoding.ts";
import type { RestApi } from "./rest-api.ts";
import { internalError, methodNotAllowed, pathNotFound, StatusError } from "./status-error.ts";
import type { Store } from "./store.ts";
import type { WatchStats } from "./watch-connection.ts";

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

async function serveAdmin(
  admin: AdminHandler,
  request: IncomingMessage,
  response: ServerResponse,
  segments: string[],
  query: URLSearchParams,
) {
  const text = await readBody(request);
  const reply = await admin(
    request.method ?? "GET",
    `/${segments.join("/")}`,
    query,
    parseJson(text),
  );
  if (reply.after) response.once("finish", () => void reply.after?.());
  send(response, reply.code, JSON.stringify(reply.body));
}

/** Routes a request to the admin, discovery or resource endpoints. */
async function routeRequest(
  options: ApiServerOptions,
  context: ResourceEndpointContext,
  serverAddress: string,
  request: IncomingMessage,
  response: ServerResponse,
) {
  const parsed = new URL(request.url ?? "/", "http://simulator");
  const segments = parsed.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const method = request.method ?? "GET";
  if (segments[0] === "simulator") {
    await serveAdmin(options.admin, request, response, segments, parsed.searchParams);
    return;
  }
  if (method === "GET" && serveDiscovery(segments, response, serverAddress, options.counters)) {
    return;
  }
  const resourceRoute =
    segments[0] === "api" || segments[0] === "apis" ? parseResourcePath(segments) : undefined;
  if (!resourceRoute || resourceRoute === "discovery") {
    if (!servesGroupVersion(segments)) {
      sendPageNotFound(response);
      return;
    }
    throw pathNotFound();
  }
  const verb = verbOf(method, resourceRoute, parsed.searchParams);
  if (!verb || !resourceRoute.info.verbs.includes(verb)) throw methodNotAllowed();
  const delayed = admitRequest(options, resourceRoute, verb, response);
  if (delayed) await delayed;
  await serveResource(context, request, response, resourceRoute, verb, parsed.searchParams);
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { log } = options;
  const watches = createOpenWatches();
  const context: ResourceEndpointContext = { ...options, watches };
  let serverAddress = "";

  const listener = createHttpListener(options.host, (request, response) => {
    routeRequest(options, context, serverAddress, request, response).catch((error: unknown) => {
      if (!(error instanceof StatusError)) {
        log.record(
          "error",
          `${request.method} ${request.url}: ${(error as Error)?.stack ?? error}`,
        );
      }
      sendError(
        response,
        error instanceof StatusError
          ? error
          : internalError((error as Error)?.message ?? String(error)),
      );
    });
  });
  const dropConnections = () => {
    watches.end("reset");
    listener.destroySockets();
  };

  const port = await listener.listen(options.port);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  serverAddress = new URL(url).host;

  return {
    url,
    port,
    watchStats: watches.stats,
    watchCount: (resource) => watches.count(resource),
    endWatches: (how, resource) => watches.end(how, resource),
    setWatchesStalled: (stalled) => watches.setStalled(stalled),
    async restart(downtimeMs) {
      if (downtimeMs > 0) {
        const stopped = listener.stopListening();
        dropConnections();
        await stopped;
        await new Promise((resolve) => setTimeout(resolve, downtimeMs));
        await listener.listen(port);
      } else {
        dropConnections();
      }
    },
    async close() {
      const stopped = listener.stopListening();
      dropConnections();
      await stopped;
    },
  };
}
