import type { ServerResponse } from "node:http";
import type { Route } from "./api-route.ts";
import { parseFieldSelector } from "./field-selector.ts";
import { parseLabelSelector } from "./label-selector.ts";
import type { OpenWatches, WatchRequest } from "./open-watches.ts";
import { optionalInt } from "./request-query.ts";
import { badRequest, StatusError } from "./status-error.ts";
import type { Store } from "./store.ts";
import type { IncludeObject } from "./table.ts";

export interface WatchEndpointContext {
  store: Store;
  watches: OpenWatches;
  bookmarkIntervalMs: number;
}

/** A watch's parameters from its query; 400 for a malformed one. */
function parseWatchQuery(
  context: WatchEndpointContext,
  route: Route,
  query: URLSearchParams,
  table: IncludeObject | undefined,
) {
  const { info } = route;
  const labels = parseLabelSelector(query.get("labelSelector"));
  const fields = parseFieldSelector(query.get("fieldSelector"), info.fieldGetters);
  const rvText = query.get("resourceVersion") ?? "";
  if (rvText !== "" && !/^\d+$/.test(rvText)) {
    throw badRequest(`resourceVersion: Invalid value: "${rvText}": must be a non-negative integer`);
  }
  const sendInitialEvents = query.get("sendInitialEvents") === "true";
  const timeoutSeconds = optionalInt(query, "timeoutSeconds");
  const request: Omit<WatchRequest, "response"> = {
    info,
    labels,
    fields,
    format: table ? { kind: "table", include: table } : { kind: "object" },
    bookmarks:
      query.get("allowWatchBookmarks") === "true" || query.get("allowWatchBookmarks") === "1",
    bookmarkIntervalMs: context.bookmarkIntervalMs,
    timeoutMs:
      timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
    currentResourceVersion: () => context.store.resourceVersion,
  };
  return {
    request,
    sendInitialEvents,
    /** undefined: start with the current objects. */
    fromResourceVersion:
      sendInitialEvents || rvText === "" || rvText === "0" ? undefined : Number(rvText),
  };
}

/** Streams a resource's events from the requested resourceVersion, or from its current objects. */
export function serveWatch(
  context: WatchEndpointContext,
  route: Route,
  query: URLSearchParams,
  table: IncludeObject | undefined,
  response: ServerResponse,
) {
  const { store } = context;
  const { info } = route;
  const { request, sendInitialEvents, fromResourceVersion } = parseWatchQuery(
    context,
    route,
    query,
    table,
  );
  const namespace = info.namespaced ? route.namespace : undefined;

  response.writeHead(200, {
    "Content-Type": "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  response.flushHeaders();
  let unwatch: (() => void) | undefined;
  const connection = context.watches.open({ ...request, response }, () => unwatch?.());
  if (fromResourceVersion === undefined) {
    connection.sendInitial(store.list(info.name, namespace));
    if (sendInitialEvents && request.bookmarks) {
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
}
