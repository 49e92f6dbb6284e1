import { isDeepStrictEqual } from "node:util";
import { decodeContinueToken, encodeContinueToken } from "./continue-token.ts";
import { checkDisruptionBudgets } from "./disruption-budget.ts";
import { parseFieldSelector } from "./field-selector.ts";
import { parseLabelSelector } from "./label-selector.ts";
import type { Condition, KubeObject, Pod } from "./object-types.ts";
import { applyPatch } from "./patch.ts";
import { podGracePeriodSeconds, preparePodForCreate } from "./pod-strategy.ts";
import type { Random } from "./random.ts";
import { NAME_SUFFIX_LENGTH, nameSuffix } from "./random.ts";
import { NAMESPACES, namespaceOf, PODS, RESOURCE_QUOTAS, type ResourceInfo } from "./resources.ts";
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  forbidden,
  gone,
  internalError,
  invalid,
  notFound,
  STALE_OBJECT_MESSAGE,
  StatusError,
} from "./status-error.ts";
import { rfc3339, type Store } from "./store.ts";
import { thaw } from "./store-event.ts";
import { validateMetadata, validatePodSpec, validatePodUpdate } from "./validation.ts";

/** How often generateName draws a new suffix after a collision before answering 409. */
const GENERATE_NAME_ATTEMPTS = 8;
/** generateName prefixes are cut so that prefix + suffix fits a 63-character label. */
const MAX_GENERATE_NAME_PREFIX = 63 - NAME_SUFFIX_LENGTH;

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  items: readonly KubeObject[];
  resourceVersion: number;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

export interface DeleteResult {
  /** The object as it now is (terminating) or as it was when removed. */
  object: KubeObject;
  /** True when the object is gone from the store. */
  removed: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
}

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

export interface RestApiOptions {
  store: Store;
  random: Random;
  now: () => Date;
  /** tolerationSeconds of the not-ready/unreachable tolerations added to every pod. */
  defaultTolerationSeconds: number;
  /** The validating admission a pod create goes through last (ResourceQuota); throws to refuse. */
  admitPod?: (namespace: string, pod: Pod, dryRun: boolean) => void;
}

/** Resources whose status is written only through their status subresource. */
const HAS_STATUS_SUBRESOURCE = new Set(["pods", "nodes", "namespaces", "resourcequotas"]);
/** Resources that count spec changes in metadata.generation. */
const HAS_GENERATION = new Set(["pods"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function withoutMetadataAndStatus(object: KubeObject): unknown {
  const { metadata, status, ...rest } = object;
  return rest;
}

function parseResourceVersion(text: string, what: string): number {
  if (!/^\d+$/.test(text)) {
    throw badRequest(`${what}: Invalid value: "${text}": must be a non-negative integer`);
  }
  return Number(text);
}

export function createRestApi(options: RestApiOptions): RestApi {
  const { store, random, now } = options;

  const get = (info: ResourceInfo, namespace: string, name: string): KubeObject => {
    const object = store.get(info.name, info.namespaced ? namespace : "", name);
    if (!object) throw notFound(info.qualified, name, info.group);
    return object;
  };

  /** Reads a request body as an object of `info`'s kind, checking what the URL fixes. */
  const decodeBody = (info: ResourceInfo, body: unknown, namespace: string): KubeObject => {
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
  };

  const checkNamespaceAcceptsContent = (info: ResourceInfo, namespace: string, name: string) => {
    if (!info.namespaced) return;
    const owner = store.get(NAMESPACES.name, "", namespace);
    if (!owner) throw notFound("namespaces", namespace);
    if (owner.metadata.deletionTimestamp) {
      const error = forbidden(
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
      throw error;
    }
  };

  const validate = (info: ResourceInfo, object: KubeObject) => {
    const causes = validateMetadata(object, info);
    if (info === PODS) causes.push(...validatePodSpec(object as Pod));
    if (causes.length > 0) {
      throw invalid(info.kind, object.metadata.name ?? "", causes, info.group);
    }
  };

  /** Stores `object`, or drops it when its deletion has nothing left to wait for. */
  const commit = (info: ResourceInfo, object: KubeObject): KubeObject => {
    const { deletionTimestamp, finalizers, deletionGracePeriodSeconds } = object.metadata;
    if (deletionTimestamp && !finalizers?.length && !deletionGracePeriodSeconds) {
      return store.delete(info.name, namespaceOf(object), object.metadata.name as string) ?? object;
    }
    return store.put(info.name, object);
  };

  const create = (
    info: ResourceInfo,
    namespace: string,
    body: unknown,
    writeOptions: WriteOptions = {},
  ): KubeObject => {
    let object = decodeBody(info, body, info.namespaced ? namespace : "");
    if (object.metadata.resourceVersion) {
      throw internalError("resourceVersion should not be set on objects to be created");
    }
    // generateName counts only when no name is given; the prefix is cut to leave room for the suffix.
    const prefix = object.metadata.name
      ? undefined
      : object.metadata.generateName?.slice(0, MAX_GENERATE_NAME_PREFIX) || undefined;
    if (prefix !== undefined) object.metadata.name = `${prefix}${nameSuffix(random)}`;
    for (const field of [
      "uid",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
      "creationTimestamp",
    ]) {
      delete object.metadata[field];
    }
    if (HAS_GENERATION.has(info.name)) object.metadata.generation = 1;
    else delete object.metadata.generation;
    if (info === PODS) {
      if (!isObject(object.spec)) object.spec = {};
      validate(info, object);
      object = preparePodForCreate(object as Pod, options.defaultTolerationSeconds);
    } else {
      validate(info, object);
    }
    if (info === NAMESPACES) {
      object.spec = { finalizers: ["kubernetes"] };
      object.status = { phase: "Active" };
    }
    // The quota controller writes a quota's status; whatever a create sends is dropped.
    if (info === RESOURCE_QUOTAS) delete object.status;
    const name = object.metadata.name as string;
    checkNamespaceAcceptsContent(info, namespace, name);
    // Admission comes before storage, so a quota refuses even a pod whose name is taken.
    if (info === PODS) options.admitPod?.(namespace, object as Pod, writeOptions.dryRun ?? false);
    const scope = info.namespaced ? namespace : "";
    if (store.get(info.name, scope, name)) {
      if (prefix === undefined) throw alreadyExists(info.qualified, name, info.group);
      let attempt = 1;
      while (store.get(info.name, scope, object.metadata.name as string)) {
        if (attempt++ >= GENERATE_NAME_ATTEMPTS) {
          throw alreadyExists(info.qualified, object.metadata.name as string, info.group);
        }
        object.metadata.name = `${prefix}${nameSuffix(random)}`;
      }
    }
    if (writeOptions.dryRun) {
      object.metadata.uid = random.uuid();
      object.metadata.creationTimestamp = rfc3339(now());
      return object;
    }
    return store.put(info.name, object);
  };

  /** Applies an update of `next` over the stored `previous` (same name), under the API's rules. */
  const updateFrom = (
    info: ResourceInfo,
    previous: KubeObject,
    next: KubeObject,
    subresource: "status" | undefined,
    writeOptions: WriteOptions,
  ): KubeObject => {
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
    let object: KubeObject;
    if (subresource === "status") {
      // A status write keeps the spec but takes metadata as sent, as the API server's status
      // strategies do (pods/status keeps the owner references too: old kubelets mangled them).
      const { status, metadata } = next;
      object = { ...thaw(previous), metadata, status };
      if (info === PODS) object.metadata.ownerReferences = thaw(previous.metadata.ownerReferences);
    } else {
      object = next;
      if (HAS_STATUS_SUBRESOURCE.has(info.name)) object.status = thaw(previous.status);
    }
    for (const field of [
      "uid",
      "creationTimestamp",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
    ]) {
      if (previous.metadata[field] === undefined) delete object.metadata[field];
      else object.metadata[field] = previous.metadata[field];
    }
    if (previous.metadata.deletionTimestamp) {
      const added = (object.metadata.finalizers ?? []).filter(
        (finalizer) => !previous.metadata.finalizers?.includes(finalizer),
      );
      if (added.length > 0) {
        throw invalid(
          info.kind,
          name,
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
    }
    const causes = validateMetadata(object, info);
    if (info === PODS) causes.push(...validatePodUpdate(object as Pod, previous as Pod));
    if (causes.length > 0) throw invalid(info.kind, name, causes, info.group);
    if (HAS_GENERATION.has(info.name)) {
      const generation = previous.metadata.generation ?? 1;
      object.metadata.generation = isDeepStrictEqual(
        withoutMetadataAndStatus(object),
        withoutMetadataAndStatus(previous),
      )
        ? generation
        : generation + 1;
    }
    delete object.metadata.resourceVersion;
    if (writeOptions.dryRun) return object;
    return commit(info, object);
  };

  const update: RestApi["update"] = (
    info,
    namespace,
    name,
    body,
    subresource,
    writeOptions = {},
  ) => {
    const next = decodeBody(info, body, info.namespaced ? namespace : "");
    if (next.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${next.metadata.name ?? ""}) does not match the name on the URL (${name})`,
      );
    }
    const previous = get(info, namespace, name);
    return updateFrom(info, previous, next, subresource, writeOptions);
  };

  const patch: RestApi["patch"] = (
    info,
    namespace,
    name,
    contentType,
    patchBody,
    subresource,
    writeOptions = {},
  ) => {
    const previous = get(info, namespace, name);
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
    return updateFrom(info, previous, next, subresource, writeOptions);
  };

  const remove = (
    info: ResourceInfo,
    namespace: string,
    name: string,
    deleteOptions: DeleteOptions = {},
  ): DeleteResult => {
    const current = get(info, namespace, name);
    const { preconditions } = deleteOptions;
    if (preconditions?.uid && preconditions.uid !== current.metadata.uid) {
      throw conflict(
        info.qualified,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`,
        info.group,
      );
    }
    if (
      preconditions?.resourceVersion &&
      preconditions.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(
        info.qualified,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        info.group,
      );
    }
    const dryRun = deleteOptions.dryRun?.includes("All") ?? false;
    const grace =
      info === PODS ? podGracePeriodSeconds(current as Pod, deleteOptions.gracePeriodSeconds) : 0;
    const finalizers = [...(current.metadata.finalizers ?? [])];
    const policy =
      deleteOptions.propagationPolicy ?? (deleteOptions.orphanDependents ? "Orphan" : undefined);
    const policyFinalizer =
      policy === "Orphan" ? "orphan" : policy === "Foreground" ? "foregroundDeletion" : undefined;
    if (
      policyFinalizer &&
      !current.metadata.deletionTimestamp &&
      !finalizers.includes(policyFinalizer)
    ) {
      finalizers.push(policyFinalizer);
    }
    if (info === NAMESPACES) {
      // The namespace controller empties the namespace, then removes it.
      if (current.metadata.deletionTimestamp || dryRun) return { object: current, removed: false };
      const terminating = thaw(current);
      terminating.metadata.deletionTimestamp = rfc3339(now());
      terminating.metadata.deletionGracePeriodSeconds = 0;
      terminating.status = { ...(terminating.status as object), phase: "Terminating" };
      return { object: store.put(info.name, terminating), removed: false };
    }
    const alreadyTerminating = current.metadata.deletionTimestamp !== undefined;
    const remaining = current.metadata.deletionGracePeriodSeconds ?? 0;
    if (grace === 0 && finalizers.length === 0) {
      if (dryRun) return { object: current, removed: true };
      const last = store.delete(info.name, namespaceOf(current), name) ?? current;
      return { object: last, removed: true };
    }
    if (
      alreadyTerminating &&
      grace >= remaining &&
      finalizers.length === (current.metadata.finalizers?.length ?? 0)
    ) {
      return { object: current, removed: false };
    }
    const terminating = thaw(current);
    const deadline = new Date(now().getTime() + grace * 1000);
    terminating.metadata.deletionTimestamp = rfc3339(deadline);
    terminating.metadata.deletionGracePeriodSeconds = grace;
    if (finalizers.length > 0) terminating.metadata.finalizers = finalizers;
    if (dryRun) return { object: terminating, removed: false };
    return { object: store.put(info.name, terminating), removed: false };
  };

  const list: RestApi["list"] = (info, namespace, query) => {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, info.fieldGetters);
    const limit = query.limit && query.limit > 0 ? query.limit : undefined;
    const scope = info.namespaced ? namespace : undefined;
    let at = store.resourceVersion;
    let after: string | undefined;
    if (query.continue) {
      const token = decodeContinueToken(query.continue);
      at = token.resourceVersion;
      after = token.after;
    } else if (query.resourceVersion && query.resourceVersion !== "0") {
      const requested = parseResourceVersion(query.resourceVersion, "resourceVersion");
      if (requested > store.resourceVersion) {
        throw new StatusError(
          failure(
            504,
            "Timeout",
            `Too large resource version: ${requested}, current: ${store.resourceVersion}`,
            {
              causes: [
                { reason: "ResourceVersionTooLarge", message: "Too large resource version" },
              ],
              retryAfterSeconds: 1,
            },
          ),
        );
      }
      if (query.resourceVersionMatch === "Exact") at = requested;
    }
    const snapshot = store.snapshot(info.name, scope, at);
    if (!snapshot) {
      if (query.continue) {
        throw gone(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get an inconsistent list.",
        );
      }
      throw gone(
        `too old resource version: ${at} (${store.history(info.name).compactedThrough + 1})`,
      );
    }
    const keyOf = (object: KubeObject) => `${namespaceOf(object)}/${object.metadata.name}`;
    let start = 0;
    if (after !== undefined) {
      let low = 0;
      let high = snapshot.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (keyOf(snapshot[mid] as KubeObject) <= after) low = mid + 1;
        else high = mid;
      }
      start = low;
    }
    const selecting = !labels.empty || !fields.empty;
    const items: KubeObject[] = [];
    let index = start;
    for (; index < snapshot.length; index++) {
      if (limit !== undefined && items.length >= limit) break;
      const object = snapshot[index] as KubeObject;
      if (!selecting || (labels.matches(object.metadata.labels) && fields.matches(object))) {
        items.push(object);
      }
    }
    const result: ListResult = { items, resourceVersion: at };
    if (index < snapshot.length) {
      const last = snapshot[index - 1] as KubeObject;
      result.continue = encodeContinueToken({ resourceVersion: at, after: keyOf(last) });
      if (!selecting) result.remainingItemCount = snapshot.length - index;
    }
    return result;
  };

  const disruptionTarget = (reason: string, message: string): Condition => ({
    type: "DisruptionTarget",
    status: "True",
    reason,
    message,
    lastProbeTime: null,
    lastTransitionTime: rfc3339(now()),
  });

  return {
    get,
    list,
    create,
    update,
    patch,
    delete: remove,
    evict(namespace, name, body) {
      const pod = get(PODS, namespace, name) as Pod;
      const eviction = isObject(body) ? body : {};
      const deleteOptions = (
        isObject(eviction.deleteOptions) ? eviction.deleteOptions : {}
      ) as DeleteOptions;
      if (
        isObject(eviction.metadata) &&
        eviction.metadata.name &&
        eviction.metadata.name !== name
      ) {
        throw badRequest(`name in URL does not match name in Eviction object`);
      }
      checkDisruptionBudgets(store, pod);
      if (
        !pod.metadata.deletionTimestamp &&
        pod.status?.phase !== "Succeeded" &&
        pod.status?.phase !== "Failed"
      ) {
        const marked = thaw(pod);
        marked.status = {
          ...marked.status,
          conditions: upsertCondition(
            marked.status?.conditions,
            disruptionTarget("EvictionByEvictionAPI", "Eviction API: evicting"),
          ),
        };
        store.put(PODS.name, marked);
      }
      remove(PODS, namespace, name, deleteOptions);
    },
    bind(namespace, name, body) {
      const pod = get(PODS, namespace, name) as Pod;
      const target = isObject(body) && isObject(body.target) ? body.target : {};
      const nodeName = typeof target.name === "string" ? target.name : "";
      if (!nodeName)
        throw invalid("Binding", name, [
          { reason: "FieldValueRequired", field: "target.name", message: "Required value" },
        ]);
      if (pod.spec.nodeName) {
        throw conflict(
          PODS.qualified,
          name,
          `pod ${name} is already assigned to node "${pod.spec.nodeName}"`,
        );
      }
      if (pod.metadata.deletionTimestamp) {
        throw conflict(
          PODS.qualified,
          name,
          `pod ${name} is being deleted, cannot be assigned to a host`,
        );
      }
      const bound = thaw(pod);
      bound.spec.nodeName = nodeName;
      bound.status = {
        ...bound.status,
        conditions: upsertCondition(bound.status?.conditions, {
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: rfc3339(now()),
        }),
      };
      store.put(PODS.name, bound);
    },
  };
}

/**
 * Conditions by type, as the kubelet and controllers maintain them: a condition whose status
 * does not change keeps its lastTransitionTime.
 */
export function upsertCondition(
  conditions: readonly Condition[] | undefined,
  next: Condition,
): Condition[] {
  const result = [...(conditions ?? [])];
  const index = result.findIndex((condition) => condition.type === next.type);
  if (index < 0) {
    result.push(next);
  } else {
    const previous = result[index] as Condition;
    result[index] =
      previous.status === next.status && previous.lastTransitionTime
        ? { ...next, lastTransitionTime: previous.lastTransitionTime }
        : next;
  }
  return result;
}
