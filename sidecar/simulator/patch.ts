import { badRequest, failure, StatusError } from "./status-error.ts";

/**
 * The three patch formats the API server accepts over JSON: RFC 7386 merge patch, RFC 6902 JSON
 * patch and Kubernetes' strategic merge patch. All are pure: they return a new document and
 * never change their inputs.
 */

export const MERGE_PATCH = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
export const PATCH_CONTENT_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** 422 with the reason the API server uses when a well-formed patch cannot be applied. */
function cannotApply(message: string): StatusError {
  return new StatusError(failure(422, "Invalid", message));
}

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}

interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw badRequest(`invalid JSON pointer: "${pointer}"`);
  return pointer
    .slice(1)
    .split("/")
    .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(array: Json[], token: string, forAdd: boolean): number {
  if (forAdd && token === "-") return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw cannotApply(`invalid array index: "${token}"`);
  const index = Number(token);
  if (index > array.length || (!forAdd && index === array.length)) {
    throw cannotApply(`array index out of bounds: ${index}`);
  }
  return index;
}

/** The container of the last token of `path`, which must exist. */
function parentOf(document: Json, tokens: string[], path: string): Json[] | JsonObject {
  let node: Json = document;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false)] as Json;
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token] as Json;
    else throw cannotApply(`doc is missing path: "${path}"`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw cannotApply(`doc is missing path: "${path}"`);
  return node;
}

function getAt(document: Json, path: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return document;
  const parent = parentOf(document, tokens, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)] as Json;
  if (!Object.hasOwn(parent, last)) throw cannotApply(`doc is missing path: "${path}"`);
  return parent[last] as Json;
}

function removeAt(document: Json, path: string): Json {
  const tokens = parsePointer(path);
  const parent = parentOf(document, tokens, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0] as Json;
  if (!Object.hasOwn(parent, last)) {
    throw cannotApply(`unable to remove nonexistent key: ${last}: missing value`);
  }
  const removed = parent[last] as Json;
  delete parent[last];
  return removed;
}

function addAt(document: Json, path: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(document, tokens, path);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, last)) {
      throw cannotApply(`replace operation does not apply: doc is missing key: ${path}`);
    }
    parent[last] = value;
  }
  return document;
}

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  }
  let document = structuredClone(target) as Json;
  for (const operation of patch as JsonPatchOperation[]) {
    if (!isObject(operation) || typeof operation.path !== "string") {
      throw badRequest(`invalid JSON patch operation: ${JSON.stringify(operation)}`);
    }
    const value = structuredClone(operation.value) as Json;
    switch (operation.op) {
      case "add":
        document = addAt(document, operation.path, value, false);
        break;
      case "replace":
        document = addAt(document, operation.path, value, true);
        break;
      case "remove":
        removeAt(document, operation.path);
        break;
      case "move": {
        const moved = removeAt(document, operation.from ?? "");
        document = addAt(document, operation.path, moved, false);
        break;
      }
      case "copy":
        document = addAt(
          document,
          operation.path,
          structuredClone(getAt(document, operation.from ?? "")),
          false,
        );
        break;
      case "test":
        if (JSON.stringify(getAt(document, operation.path)) !== JSON.stringify(value)) {
          throw cannotApply(`testing value ${operation.path} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`Unexpected kind: ${String((operation as { op: unknown }).op)}`);
    }
  }
  return document;
}

/**
 * Strategic merge patch metadata for the fields the simulator's resources have: list fields
 * merged by a key, or (for lists of scalars) merged as sets. Lists not named here are replaced,
 * as for any field without a patch strategy. Paths skip list indices.
 */
const MERGE_KEYS: Readonly<Record<string, string | null>> = {
  "metadata.finalizers": null,
  "metadata.ownerReferences": "uid",
  "spec.containers": "name",
  "spec.initContainers": "name",
  "spec.ephemeralContainers": "name",
  "spec.containers.env": "name",
  "spec.initContainers.env": "name",
  "spec.containers.ports": "containerPort",
  "spec.initContainers.ports": "containerPort",
  "spec.containers.volumeMounts": "mountPath",
  "spec.initContainers.volumeMounts": "mountPath",
  "spec.volumes": "name",
  "spec.imagePullSecrets": "name",
  "spec.hostAliases": "ip",
  "spec.podCIDRs": null,
  "status.conditions": "type",
  "status.podIPs": "ip",
  "status.hostIPs": "ip",
  "status.addresses": "type",
};

const DIRECTIVE = "$patch";
const SET_ELEMENT_ORDER = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";
const RETAIN_KEYS = "$retainKeys";

/** Removes patch directives from a value that is inserted, not merged. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith("$")) continue;
    result[key] = stripDirectives(child);
  }
  return result;
}

/** What identifies a list item: its merge key's value, or (in a list of scalars) itself. */
function identity(item: Json, mergeKey: string | null): string {
  return JSON.stringify(mergeKey === null ? item : isObject(item) ? item[mergeKey] : undefined);
}

/**
 * The API server's element order for a merged list (normalizeElementOrder in apimachinery's
 * strategicpatch): the items the patch names, in the patch's (or $setElementOrder's) order, with
 * the items only the server has slotted in where they stood relative to them in the live list.
 * So a new finalizer or condition sent alone lands in front, and an item merged in place stays.
 */
function normalizeOrder(
  merged: Json[],
  order: Json[],
  original: Json[],
  mergeKey: string | null,
): Json[] {
  const position = (list: Json[], item: Json) =>
    list.findIndex((candidate) => identity(candidate, mergeKey) === identity(item, mergeKey));
  const named = merged
    .filter((item) => position(order, item) >= 0)
    .sort((a, b) => position(order, a) - position(order, b));
  const serverOnly = merged
    .filter((item) => position(order, item) < 0)
    .sort((a, b) => position(original, a) - position(original, b));
  const result: Json[] = [];
  let left = 0;
  let right = 0;
  while (left < serverOnly.length || right < named.length) {
    const serverItem = serverOnly[left];
    const namedItem = named[right];
    if (serverItem === undefined) {
      result.push(namedItem as Json);
      right++;
    } else if (namedItem === undefined) {
      result.push(serverItem);
      left++;
    } else {
      const [serverIndex, namedIndex] = [
        position(original, serverItem),
        position(original, namedItem),
      ];
      if (serverIndex >= 0 && namedIndex >= 0 && serverIndex < namedIndex) {
        result.push(serverItem);
        left++;
      } else {
        result.push(namedItem);
        right++;
      }
    }
  }
  return result;
}

function mergeList(
  original: Json[],
  patch: Json[],
  path: string,
  mergeKey: string | null,
  elementOrder: Json[] | undefined,
): Json[] {
  if (patch.some((item) => isObject(item) && item[DIRECTIVE] === "replace")) {
    return patch
      .filter((item) => !(isObject(item) && item[DIRECTIVE] === "replace"))
      .map(stripDirectives);
  }
  const plain = patch.filter((item) => !(isObject(item) && DIRECTIVE in item));
  const order = elementOrder ?? plain;
  if (mergeKey === null) {
    const result = [...original];
    for (const item of patch) {
      if (!result.some((existing) => JSON.stringify(existing) === JSON.stringify(item))) {
        result.push(item);
      }
    }
    return normalizeOrder(result, order, original, mergeKey);
  }
  const result = [...original];
  for (const item of patch) {
    if (!isObject(item) || !Object.hasOwn(item, mergeKey)) {
      throw badRequest(
        `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`,
      );
    }
    const index = result.findIndex(
      (existing) => isObject(existing) && existing[mergeKey] === item[mergeKey],
    );
    if (item[DIRECTIVE] === "delete") {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = mergeObject(result[index] as JsonObject, item, path);
    } else {
      result.push(stripDirectives(item));
    }
  }
  return normalizeOrder(result, order, original, mergeKey);
}

/** The `$setElementOrder/<field>` list a patch carries for `field`, if any. */
function elementOrder(patch: JsonObject, field: string): Json[] | undefined {
  const order = patch[`${SET_ELEMENT_ORDER}${field}`];
  return Array.isArray(order) ? order : undefined;
}

function mergeObject(original: JsonObject, patch: JsonObject, path: string): JsonObject {
  if (patch[DIRECTIVE] === "replace") return stripDirectives(patch) as JsonObject;
  const result: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((item) => !value.includes(item));
      }
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      if (value[DIRECTIVE] === "delete") delete result[key];
      else result[key] = mergeObject(isObject(result[key]) ? result[key] : {}, value, childPath);
    } else if (Array.isArray(value) && Object.hasOwn(MERGE_KEYS, childPath)) {
      const current = result[key];
      result[key] = mergeList(
        Array.isArray(current) ? current : [],
        value,
        childPath,
        MERGE_KEYS[childPath] ?? null,
        elementOrder(patch, key),
      );
    } else {
      result[key] = stripDirectives(value);
    }
  }
  // A $setElementOrder for a list the patch leaves alone reorders the live list.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || !Array.isArray(order)) continue;
    const field = key.slice(SET_ELEMENT_ORDER.length);
    const childPath = path ? `${path}.${field}` : field;
    const current = result[field];
    if (Object.hasOwn(patch, field) || !Array.isArray(current)) continue;
    if (!Object.hasOwn(MERGE_KEYS, childPath)) continue;
    result[field] = normalizeOrder(current, order, current, MERGE_KEYS[childPath] ?? null);
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw badRequest("strategic merge patch must be a JSON object");
  return mergeObject(isObject(target) ? target : {}, patch, "");
}

/** Applies a patch of `contentType`; the caller has already refused unsupported types. */
export function applyPatch(contentType: string, target: unknown, patch: unknown): unknown {
  switch (contentType) {
    case MERGE_PATCH:
      return applyMergePatch(target, patch);
    case JSON_PATCH:
      return applyJsonPatch(target, patch);
    default:
      return applyStrategicMergePatch(target, patch);
  }
}
