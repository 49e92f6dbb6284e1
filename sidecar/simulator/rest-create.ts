import type { KubeObject, Pod } from "./object-types.ts";
import { preparePodForCreate } from "./pod-strategy.ts";
import { NAME_SUFFIX_LENGTH, nameSuffix } from "./random.ts";
import { NAMESPACES, PODS, RESOURCE_QUOTAS, type ResourceInfo } from "./resources.ts";
import type { RestContext, WriteOptions } from "./rest-context.ts";
import { decodeBody, HAS_GENERATION, isObject } from "./rest-object.ts";
import { alreadyExists, forbidden, internalError, invalid, notFound } from "./status-error.ts";
import { rfc3339 } from "./store.ts";
import { validateMetadata, validatePodSpec } from "./validation.ts";

/** How often generateName draws a new suffix after a collision before answering 409. */
const GENERATE_NAME_ATTEMPTS = 8;
/** generateName prefixes are cut so that prefix + suffix fits a 63-character label. */
const MAX_GENERATE_NAME_PREFIX = 63 - NAME_SUFFIX_LENGTH;

/** Metadata only the server sets: whatever a create sends for it is dropped. */
const SERVER_SET_FIELDS = [
  "uid",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "creationTimestamp",
];

function validateNew(info: ResourceInfo, object: KubeObject) {
  const causes = validateMetadata(object, info);
  if (info === PODS) causes.push(...validatePodSpec(object as Pod));
  if (causes.length > 0) {
    throw invalid(info.kind, object.metadata.name ?? "", causes, info.group);
  }
}

/** Resets what the server owns, defaults and validates: the object as it would be stored. */
function prepareForCreate(context: RestContext, info: ResourceInfo, decoded: KubeObject) {
  let object = decoded;
  for (const field of SERVER_SET_FIELDS) delete object.metadata[field];
  if (HAS_GENERATION.has(info.name)) object.metadata.generation = 1;
  else delete object.metadata.generation;
  if (info === PODS) {
    if (!isObject(object.spec)) object.spec = {};
    validateNew(info, object);
    object = preparePodForCreate(object as Pod, context.defaultTolerationSeconds);
  } else {
    validateNew(info, object);
  }
  if (info === NAMESPACES) {
    object.spec = { finalizers: ["kubernetes"] };
    object.status = { phase: "Active" };
  }
  // The quota controller writes a quota's status; whatever a create sends is dropped.
  if (info === RESOURCE_QUOTAS) delete object.status;
  return object;
}

function checkNamespaceAcceptsContent(
  context: RestContext,
  info: ResourceInfo,
  namespace: string,
  name: string,
) {
  if (!info.namespaced) return;
  const owner = context.store.get(NAMESPACES.name, "", namespace);
  if (!owner) throw notFound("namespaces", namespace);
  if (owner.metadata.deletionTimestamp) {
    throw forbidden(
      `${info.qualified} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      {
        name,
        ...(info.group ? { group: info.group } : {}),
        kind: info.name,
        causes: [
          {
            reason: "NamespaceTerminating",
            message: `namespace ${namespace} is being terminated`,
            field: "metadata.namespace",
          },
        ],
      },
    );
  }
}

/**
 * 409 when the name is taken; with generateName (`prefix`), draws new suffixes into
 * `object.metadata.name` until one is free or the attempts run out.
 */
function claimName(
  context: RestContext,
  info: ResourceInfo,
  scope: string,
  object: KubeObject,
  prefix: string | undefined,
) {
  const { store, random } = context;
  const name = object.metadata.name as string;
  if (!store.get(info.name, scope, name)) return;
  if (prefix === undefined) throw alreadyExists(info.qualified, name, info.group);
  let attempt = 1;
  while (store.get(info.name, scope, object.metadata.name as string)) {
    if (attempt++ >= GENERATE_NAME_ATTEMPTS) {
      throw alreadyExists(info.qualified, object.metadata.name as string, info.group);
    }
    object.metadata.name = `${prefix}${nameSuffix(random)}`;
  }
}

export function createObject(
  context: RestContext,
  info: ResourceInfo,
  namespace: string,
  body: unknown,
  writeOptions: WriteOptions = {},
): KubeObject {
  const { store, random, now } = context;
  const decoded = decodeBody(info, body, info.namespaced ? namespace : "");
  if (decoded.metadata.resourceVersion) {
    throw internalError("resourceVersion should not be set on objects to be created");
  }
  // generateName counts only when no name is given; the prefix is cut to leave room for the suffix.
  const prefix = decoded.metadata.name
    ? undefined
    : decoded.metadata.generateName?.slice(0, MAX_GENERATE_NAME_PREFIX) || undefined;
  if (prefix !== undefined) decoded.metadata.name = `${prefix}${nameSuffix(random)}`;
  const object = prepareForCreate(context, info, decoded);
  checkNamespaceAcceptsContent(context, info, namespace, object.metadata.name as string);
  // Admission comes before storage, so a quota refuses even a pod whose name is taken.
  if (info === PODS) context.admitPod?.(namespace, object as Pod, writeOptions.dryRun ?? false);
  claimName(context, info, info.namespaced ? namespace : "", object, prefix);
  if (writeOptions.dryRun) {
    object.metadata.uid = random.uuid();
    object.metadata.creationTimestamp = rfc3339(now());
    return object;
  }
  return store.put(info.name, object);
}
