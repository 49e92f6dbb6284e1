import type { KubeObject } from "./object-types.ts";
import { namespaceOf, type ResourceInfo } from "./resources.ts";
import { badRequest, notFound } from "./status-error.ts";
import type { Store } from "./store.ts";

/** Resources that count spec changes in metadata.generation. */
export const HAS_GENERATION = new Set(["pods"]);

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The stored object, or 404. */
export function getObject(
  store: Store,
  info: ResourceInfo,
  namespace: string,
  name: string,
): KubeObject {
  const object = store.get(info.name, info.namespaced ? namespace : "", name);
  if (!object) throw notFound(info.qualified, name, info.group);
  return object;
}

/** Reads a request body as an object of `info`'s kind, checking what the URL fixes. */
export function decodeBody(info: ResourceInfo, body: unknown, namespace: string): KubeObject {
  if (!isObject(body)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
  if (body.kind !== undefined && body.kind !== info.kind) {
    throw badRequest(
      `the kind of the provided object (${String(body.kind)}) does not match the resource (${info.kind})`,
    );
  }
  if (body.apiVersion !== undefined && body.apiVersion !== info.apiVersion) {
    throw badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${info.apiVersion})`,
    );
  }
  const object = structuredClone(body) as KubeObject;
  object.apiVersion = info.apiVersion;
  object.kind = info.kind;
  object.metadata = isObject(object.metadata) ? object.metadata : {};
  if (info.namespaced) {
    if (object.metadata.namespace && object.metadata.namespace !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    object.metadata.namespace = namespace;
  } else {
    delete object.metadata.namespace;
  }
  return object;
}

/** Stores `object`, or drops it when its deletion has nothing left to wait for. */
export function storeOrRemove(store: Store, info: ResourceInfo, object: KubeObject): KubeObject {
  const { deletionTimestamp, finalizers, deletionGracePeriodSeconds } = object.metadata;
  if (deletionTimestamp && !finalizers?.length && !deletionGracePeriodSeconds) {
    return store.delete(info.name, namespaceOf(object), object.metadata.name as string) ?? object;
  }
  return store.put(info.name, object);
}
