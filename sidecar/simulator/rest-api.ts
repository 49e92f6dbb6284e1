import type { KubeObject } from "./object-types.ts";
import type { ResourceInfo } from "./resources.ts";
import { bindPod } from "./rest-binding.ts";
import type { RestContext, WriteOptions } from "./rest-context.ts";
import { createObject } from "./rest-create.ts";
import { type DeleteOptions, type DeleteResult, deleteObject } from "./rest-delete.ts";
import { evictPod } from "./rest-eviction.ts";
import { type ListQuery, type ListResult, listObjects } from "./rest-list.ts";
import { getObject } from "./rest-object.ts";
import { patchObject, updateObject } from "./rest-update.ts";

/**
 * The API server's REST semantics over the store: defaults, validation, optimistic concurrency,
 * generateName, subresources, graceful deletion and finalizers. The HTTP layer and the simulated
 * controllers both go through it, so a rule holds whoever writes.
 */
export interface RestApi {
  get(info: ResourceInfo, namespace: string, name: string): KubeObject;
  list(info: ResourceInfo, namespace: string | undefined, query: ListQuery): ListResult;
  create(info: ResourceInfo, namespace: string, body: unknown, options?: WriteOptions): KubeObject;
  update(
    info: ResourceInfo,
    namespace: string,
    name: string,
    body: unknown,
    subresource?: "status",
    options?: WriteOptions,
  ): KubeObject;
  patch(
    info: ResourceInfo,
    namespace: string,
    name: string,
    contentType: string,
    patch: unknown,
    subresource?: "status",
    options?: WriteOptions,
  ): KubeObject;
  delete(
    info: ResourceInfo,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): DeleteResult;
  /** The pods/eviction subresource: refused (429) while a PodDisruptionBudget allows no
   * disruption of the pod; else marks the pod with DisruptionTarget and deletes it. */
  evict(namespace: string, name: string, body: unknown): void;
  /** The pods/binding subresource: assigns a pending pod to a node. */
  bind(namespace: string, name: string, body: unknown): void;
}

export interface RestApiOptions extends RestContext {}

export function createRestApi(options: RestApiOptions): RestApi {
  const { store, now } = options;
  return {
    get: (info, namespace, name) => getObject(store, info, namespace, name),
    list: (info, namespace, query) => listObjects(store, info, namespace, query),
    create: (info, namespace, body, writeOptions) =>
      createObject(options, info, namespace, body, writeOptions),
    update: (info, namespace, name, body, subresource, writeOptions) =>
      updateObject(store, info, namespace, name, body, subresource, writeOptions),
    patch: (info, namespace, name, contentType, patch, subresource, writeOptions) =>
      patchObject(store, info, namespace, name, contentType, patch, subresource, writeOptions),
    delete: (info, namespace, name, deleteOptions) =>
      deleteObject(store, now, info, namespace, name, deleteOptions),
    evict: (namespace, name, body) => evictPod(store, now, namespace, name, body),
    bind: (namespace, name, body) => bindPod(store, now, namespace, name, body),
  };
}
