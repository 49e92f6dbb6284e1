import { isDeepStrictEqual } from "node:util";
import type { KubeObject, Pod } from "./object-types.ts";
import { applyPatch } from "./patch.ts";
import { PODS, type ResourceInfo } from "./resources.ts";
import type { WriteOptions } from "./rest-context.ts";
import { decodeBody, getObject, HAS_GENERATION, isObject, storeOrRemove } from "./rest-object.ts";
import { badRequest, conflict, invalid, STALE_OBJECT_MESSAGE } from "./status-error.ts";
import type { Store } from "./store.ts";
import { thaw } from "./store-event.ts";
import { validateMetadata, validatePodUpdate } from "./validation.ts";

/** Metadata an update cannot change: it keeps the stored values. */
const IMMUTABLE_FIELDS = [
  "uid",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

function withoutMetadataAndStatus(object: KubeObject): unknown {
  const { metadata, status, ...rest } = object;
  return rest;
}

/** 409 when `next` names another resourceVersion or uid than the stored object has. */
function checkPreconditions(info: ResourceInfo, previous: KubeObject, next: KubeObject) {
  const name = previous.metadata.name as string;
  const requested = next.metadata.resourceVersion;
  if (requested && requested !== previous.metadata.resourceVersion) {
    throw conflict(info.qualified, name, STALE_OBJECT_MESSAGE, info.group);
  }
  if (next.metadata.uid && next.metadata.uid !== previous.metadata.uid) {
    throw conflict(
      info.qualified,
      name,
      `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${previous.metadata.uid}`,
      info.group,
    );
  }
}

/** What an update writes: the main resource keeps the status, the status subresource the spec. */
function mergeForSubresource(
  info: ResourceInfo,
  previous: KubeObject,
  next: KubeObject,
  subresource: "status" | undefined,
): KubeObject {
  if (subresource === "status") {
    // A status write keeps the spec but takes metadata as sent, as the API server's status
    // strategies do (pods/status keeps the owner references too: old kubelets mangled them).
    const { status, metadata } = next;
    const object: KubeObject = { ...thaw(previous), metadata, status };
    if (info === PODS) object.metadata.ownerReferences = thaw(previous.metadata.ownerReferences);
    return object;
  }
  // A resource with a status subresource has its status written only through it.
  if (info.subresources.status) next.status = thaw(previous.status);
  return next;
}

function checkNoFinalizerAddedWhileDeleting(
  info: ResourceInfo,
  previous: KubeObject,
  object: KubeObject,
) {
  if (!previous.metadata.deletionTimestamp) return;
  const added = (object.metadata.finalizers ?? []).filter(
    (finalizer) => !previous.metadata.finalizers?.includes(finalizer),
  );
  if (added.length === 0) return;
  throw invalid(
    info.kind,
    previous.metadata.name as string,
    [
      {
        reason: "FieldValueForbidden",
        field: "metadata.finalizers",
        message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`,
      },
    ],
    info.group,
  );
}

/** The stored generation, counted up when anything but metadata and status changed. */
function nextGeneration(previous: KubeObject, object: KubeObject): number {
  const generation = previous.metadata.generation ?? 1;
  return isDeepStrictEqual(withoutMetadataAndStatus(object), withoutMetadataAndStatus(previous))
    ? generation
    : generation + 1;
}

/** Applies an update of `next` over the stored `previous` (same name), under the API's rules. */
function applyUpdate(
  store: Store,
  info: ResourceInfo,
  previous: KubeObject,
  next: KubeObject,
  subresource: "status" | undefined,
  writeOptions: WriteOptions,
): KubeObject {
  checkPreconditions(info, previous, next);
  const object = mergeForSubresource(info, previous, next, subresource);
  for (const field of IMMUTABLE_FIELDS) {
    if (previous.metadata[field] === undefined) delete object.metadata[field];
    else object.metadata[field] = previous.metadata[field];
  }
  checkNoFinalizerAddedWhileDeleting(info, previous, object);
  const causes = validateMetadata(object, info);
  if (info === PODS) causes.push(...validatePodUpdate(object as Pod, previous as Pod));
  if (causes.length > 0) {
    throw invalid(info.kind, previous.metadata.name as string, causes, info.group);
  }
  if (HAS_GENERATION.has(info.name)) object.metadata.generation = nextGeneration(previous, object);
  delete object.metadata.resourceVersion;
  if (writeOptions.dryRun) return object;
  return storeOrRemove(store, info, object);
}

export function updateObject(
  store: Store,
  info: ResourceInfo,
  namespace: string,
  name: string,
  body: unknown,
  subresource?: "status",
  writeOptions: WriteOptions = {},
): KubeObject {
  const next = decodeBody(info, body, info.namespaced ? namespace : "");
  if (next.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${next.metadata.name ?? ""}) does not match the name on the URL (${name})`,
    );
  }
  const previous = getObject(store, info, namespace, name);
  return applyUpdate(store, info, previous, next, subresource, writeOptions);
}

export function patchObject(
  store: Store,
  info: ResourceInfo,
  namespace: string,
  name: string,
  contentType: string,
  patchBody: unknown,
  subresource?: "status",
  writeOptions: WriteOptions = {},
): KubeObject {
  const previous = getObject(store, info, namespace, name);
  const patched = applyPatch(contentType, thaw(previous), patchBody);
  const next = decodeBody(info, patched, info.namespaced ? namespace : "");
  if (next.metadata.name !== name) {
    throw badRequest(`metadata.name: Invalid value: "${next.metadata.name}": field is immutable`);
  }
  // A patch carries a resourceVersion only when the client asks for a precondition.
  const carried =
    isObject(patchBody) && isObject(patchBody.metadata)
      ? patchBody.metadata.resourceVersion
      : undefined;
  if (typeof carried !== "string")
    next.metadata.resourceVersion = previous.metadata.resourceVersion;
  return applyUpdate(store, info, previous, next, subresource, writeOptions);
}
