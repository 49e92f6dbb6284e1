// One complete list of a collection, read page by page and projected as each page arrives, so
// that no more than a page of whole objects is held at once.

import type { ConfigurationOptions } from "@kubernetes/client-node";
import { abortOptions } from "./abort-options.ts";
import { type Entries, entryOf, objectIdOf, type Projection } from "./list-watch-store.ts";

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit: number;
  _continue?: string;
}

/** The shape of a client-node list result (V1PodList, V1ConfigMapList, …). */
export interface ListPage {
  metadata?: { resourceVersion?: string; _continue?: string };
  items: unknown[];
}

/** Where the objects come from: a collection path to watch and the typed list call for it. */
export interface ListWatchSource {
  /** e.g. `/api/v1/namespaces/hpc/pods` */
  watchPath: string;
  list(params: ListParams, options: ConfigurationOptions): Promise<ListPage>;
}

export interface ListRequest {
  source: ListWatchSource;
  labelSelector?: string;
  fieldSelector?: string;
  pageSize: number;
  /** Gives up on a page that takes longer than this. */
  listTimeoutMs: number;
  /** Aborts the page in flight. */
  stopping: AbortSignal;
  /** Sends a call, through the rate limiter when there is one. */
  throttled: <R>(send: () => Promise<R>) => Promise<R>;
}

/** The projected objects of a complete list and the resourceVersion it is current to. */
export interface Listing<T> {
  entries: Entries<T>;
  resourceVersion: string;
}

export async function listAll<T>(
  request: ListRequest,
  projection: Projection<T>,
): Promise<Listing<T>> {
  const entries: Entries<T> = new Map();
  let continueToken: string | undefined;
  let resourceVersion = "";
  do {
    const page = await listPage(request, continueToken);
    for (const object of page.items) {
      const id = objectIdOf(object);
      const entry = id === undefined ? undefined : entryOf(projection, object);
      if (id !== undefined && entry !== undefined) entries.set(id, entry);
    }
    continueToken = page.metadata?._continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (continueToken);
  return { entries, resourceVersion };
}

function listPage(request: ListRequest, continueToken: string | undefined): Promise<ListPage> {
  const params: ListParams = { limit: request.pageSize };
  if (request.labelSelector) params.labelSelector = request.labelSelector;
  if (request.fieldSelector) params.fieldSelector = request.fieldSelector;
  if (continueToken) params._continue = continueToken;
  const signal = AbortSignal.any([request.stopping, AbortSignal.timeout(request.listTimeoutMs)]);
  return request.throttled(() => request.source.list(params, abortOptions(signal)));
}
