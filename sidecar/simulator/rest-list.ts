import { decodeContinueToken, encodeContinueToken } from "./continue-token.ts";
import { parseFieldSelector } from "./field-selector.ts";
import { parseLabelSelector } from "./label-selector.ts";
import type { KubeObject } from "./object-types.ts";
import { namespaceOf, type ResourceInfo } from "./resources.ts";
import { badRequest, failure, gone, StatusError } from "./status-error.ts";
import type { Store } from "./store.ts";

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

/** Where a list reads: the store's resourceVersion, a continue token's, or an exact one asked. */
interface ListPosition {
  at: number;
  /** The key of the last object a previous page returned. */
  after?: string;
}

function parseResourceVersion(text: string, what: string): number {
  if (!/^\d+$/.test(text)) {
    throw badRequest(`${what}: Invalid value: "${text}": must be a non-negative integer`);
  }
  return Number(text);
}

function keyOf(object: KubeObject): string {
  return `${namespaceOf(object)}/${object.metadata.name}`;
}

function listPosition(store: Store, query: ListQuery): ListPosition {
  if (query.continue) {
    const token = decodeContinueToken(query.continue);
    return { at: token.resourceVersion, after: token.after };
  }
  if (!query.resourceVersion || query.resourceVersion === "0") return { at: store.resourceVersion };
  const requested = parseResourceVersion(query.resourceVersion, "resourceVersion");
  if (requested > store.resourceVersion) {
    throw new StatusError(
      failure(
        504,
        "Timeout",
        `Too large resource version: ${requested}, current: ${store.resourceVersion}`,
        {
          causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
          retryAfterSeconds: 1,
        },
      ),
    );
  }
  return { at: query.resourceVersionMatch === "Exact" ? requested : store.resourceVersion };
}

/** The index of the first object of `snapshot` (sorted by key) after `after`. */
function indexAfter(snapshot: readonly KubeObject[], after: string | undefined): number {
  if (after === undefined) return 0;
  let low = 0;
  let high = snapshot.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keyOf(snapshot[mid] as KubeObject) <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

export function listObjects(
  store: Store,
  info: ResourceInfo,
  namespace: string | undefined,
  query: ListQuery,
): ListResult {
  const labels = parseLabelSelector(query.labelSelector);
  const fields = parseFieldSelector(query.fieldSelector, info.fieldGetters);
  const limit = query.limit && query.limit > 0 ? query.limit : undefined;
  const { at, after } = listPosition(store, query);
  const snapshot = store.snapshot(info.name, info.namespaced ? namespace : undefined, at);
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
  const selecting = !labels.empty || !fields.empty;
  const items: KubeObject[] = [];
  let index = indexAfter(snapshot, after);
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
}
