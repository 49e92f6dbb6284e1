import type { IncomingMessage, ServerResponse } from "node:http";
import type { Route } from "./api-route.ts";
import type { Authorization } from "./authorization.ts";
import type { KubeObject } from "./object-types.ts";
import { PATCH_CONTENT_TYPES } from "./patch.ts";
import { parseJson, readBody } from "./request-body.ts";
import { deleteOptionsFrom, listQueryFrom } from "./request-query.ts";
import { NAMESPACES, PODS, SELF_SUBJECT_ACCESS_REVIEWS } from "./resources.ts";
import {
  listJson,
  mediaType,
  send,
  sendCreatedStatus,
  sendList,
  sendObject,
  successStatus,
  tableRequest,
} from "./response-encoding.ts";
import type { RestApi } from "./rest-api.ts";
import { methodNotAllowed, StatusError, unsupportedMediaType } from "./status-error.ts";
import type { IncludeObject } from "./table.ts";
import { serveWatch, type WatchEndpointContext } from "./watch-endpoint.ts";

/**
 * Bodies are decoded as JSON only (no YAML, no protobuf). kubectl's typed generators (`kubectl
 * create namespace`, `create configmap`, …) send protobuf; manifests given with -f go as JSON.
 */
const PROTOBUF_HINT =
  "the simulator decodes JSON bodies only; `kubectl create namespace|configmap|…` send protobuf, so write the object as a manifest and use `kubectl create -f` or `kubectl apply -f`";

export interface ResourceEndpointContext extends WatchEndpointContext {
  api: RestApi;
  authorization: Authorization;
}

/** One resource request, read: what each verb's handler works from. */
interface ResourceRequest {
  route: Route;
  query: URLSearchParams;
  /** The Table the client asked for instead of objects. */
  table: IncludeObject | undefined;
  dryRun: boolean;
  contentType: string;
  /** The body as received; "" for methods without one. */
  text: string;
  response: ServerResponse;
}

type VerbHandler = (context: ResourceEndpointContext, request: ResourceRequest) => void;

function sendResult(request: ResourceRequest, code: number, object: KubeObject) {
  sendObject(request.response, code, request.route.info, object, request.table);
}

/** Only the status subresource takes updates and patches besides the resource itself. */
function checkWritableSubresource(route: Route) {
  if (route.subresource !== undefined && route.subresource !== "status") {
    throw methodNotAllowed();
  }
}

const serveGet: VerbHandler = ({ api }, request) => {
  const { info, namespace = "", name } = request.route;
  sendResult(request, 200, api.get(info, namespace, name as string));
};

const serveList: VerbHandler = ({ api }, { route, query, table, response }) => {
  const result = api.list(route.info, route.namespace, listQueryFrom(query));
  sendList(response, route.info, result, table);
};

const serveCreate: VerbHandler = ({ api, authorization }, request) => {
  const { info, namespace = "", name, subresource } = request.route;
  const body = parseJson(request.text);
  if (subresource === "eviction") {
    api.evict(namespace, name as string, body);
    sendCreatedStatus(request.response);
  } else if (subresource === "binding") {
    api.bind(namespace, name as string, body);
    sendCreatedStatus(request.response);
  } else if (subresource !== undefined) {
    throw methodNotAllowed();
  } else if (info === SELF_SUBJECT_ACCESS_REVIEWS) {
    send(request.response, 201, JSON.stringify(authorization.review(body)));
  } else {
    sendResult(request, 201, api.create(info, namespace, body, { dryRun: request.dryRun }));
  }
};

const serveUpdate: VerbHandler = ({ api }, request) => {
  const { info, namespace = "", name, subresource } = request.route;
  checkWritableSubresource(request.route);
  const body = parseJson(request.text);
  sendResult(
    request,
    200,
    api.update(info, namespace, name as string, body, subresource as "status" | undefined, {
      dryRun: request.dryRun,
    }),
  );
};

const servePatch: VerbHandler = ({ api }, request) => {
  const { info, namespace = "", name, subresource } = request.route;
  checkWritableSubresource(request.route);
  const { contentType } = request;
  if (!PATCH_CONTENT_TYPES.includes(contentType)) {
    throw unsupportedMediaType(contentType, PATCH_CONTENT_TYPES);
  }
  const patch = parseJson(request.text);
  sendResult(
    request,
    200,
    api.patch(
      info,
      namespace,
      name as string,
      contentType,
      patch,
      subresource as "status" | undefined,
      { dryRun: request.dryRun },
    ),
  );
};

const serveDelete: VerbHandler = ({ api }, request) => {
  const { info, namespace = "", name, subresource } = request.route;
  if (subresource !== undefined) throw methodNotAllowed();
  const deleteOptions = deleteOptionsFrom(request.query, parseJson(request.text));
  const result = api.delete(info, namespace, name as string, deleteOptions);
  // Pods and namespaces answer with the object even once it is removed, as their registries do.
  if (!result.removed || info === PODS || info === NAMESPACES) {
    sendResult(request, 200, result.object);
  } else {
    send(request.response, 200, successStatus(info, result.object));
  }
};

const serveDeleteCollection: VerbHandler = ({ api, store }, { route, query, text, response }) => {
  const { info } = route;
  const deleteOptions = deleteOptionsFrom(query, parseJson(text));
  const { items } = api.list(info, route.namespace, {
    labelSelector: query.get("labelSelector"),
    fieldSelector: query.get("fieldSelector"),
  });
  const deleted: KubeObject[] = [];
  for (const item of items) {
    try {
      deleted.push(
        api.delete(info, item.metadata.namespace ?? "", item.metadata.name as string, deleteOptions)
          .object,
      );
    } catch (error) {
      // An object that went away meanwhile is simply not in the answer.
      if (!(error instanceof StatusError && error.code === 404)) throw error;
    }
  }
  send(response, 200, listJson(info, { items: deleted, resourceVersion: store.resourceVersion }));
};

const serveWatchVerb: VerbHandler = (context, { route, query, table, response }) =>
  serveWatch(context, route, query, table, response);

const HANDLERS: Record<string, VerbHandler> = {
  get: serveGet,
  list: serveList,
  watch: serveWatchVerb,
  create: serveCreate,
  update: serveUpdate,
  patch: servePatch,
  delete: serveDelete,
  deletecollection: serveDeleteCollection,
};

/** Reads the request and answers it with the handler of its verb. */
export async function serveResource(
  context: ResourceEndpointContext,
  httpRequest: IncomingMessage,
  response: ServerResponse,
  route: Route,
  verb: string,
  query: URLSearchParams,
) {
  const table = tableRequest(httpRequest.headers.accept, query);
  const dryRun = query.getAll("dryRun").includes("All");
  const method = httpRequest.method ?? "GET";
  const hasBody =
    method === "POST" || method === "PUT" || method === "PATCH" || method === "DELETE";
  const contentType = mediaType(httpRequest.headers["content-type"]);
  const text = hasBody ? await readBody(httpRequest) : "";
  if (
    (method === "POST" || method === "PUT") &&
    text.trim() !== "" &&
    contentType !== "application/json"
  ) {
    throw unsupportedMediaType(contentType, ["application/json"], PROTOBUF_HINT);
  }
  HANDLERS[verb]?.(context, { route, query, table, dryRun, contentType, text, response });
}
