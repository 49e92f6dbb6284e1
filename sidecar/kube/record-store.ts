// Request records in the API server: create (before a request id is handed out), direct reads
// for read-your-writes, merge patches of findings, and deletion once expired.
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { ProviderError } from "../provider/errors.ts";
import type { FinalAnswer, RequestRecord } from "../provider/model.ts";
import { recordName } from "../provider/naming.ts";
import {
  type ConfigMapLike,
  finalPatch,
  parseRecord,
  type recordConfigMap,
  recordPatch,
} from "../provider/records.ts";
import { toKubeApiError } from "./api-errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { withRetry } from "./retry.ts";

/** A handler retries transient API trouble this long before telling the client to come back. */
export const HANDLER_RETRY_MS = 10_000;

/** What the handlers and the controller write and read of request records. */
export interface RecordStore {
  /** Stores a new record; resolves once the API server has it. */
  create(configMap: ReturnType<typeof recordConfigMap>): Promise<void>;
  /** Reads a record straight from the API server (read-your-writes across replicas). */
  read(requestId: string): Promise<RequestRecord | undefined>;
  /** Reads a record with its resourceVersion, for a conditional write. */
  readVersioned(
    requestId: string,
  ): Promise<{ record: RequestRecord; resourceVersion: string } | undefined>;
  /** Records machines of a request as failed, by index. */
  fail(requestId: string, failures: Map<number, string>): Promise<void>;
  /** Notes that HostFactory asked about a create request, so it is never abandoned. */
  markAsked(requestId: string): Promise<void>;
  /** Stores a request's final answer if its record is still at `resourceVersion`; false when
   * another write came first (or the record is gone). */
  storeFinal(record: RequestRecord, final: FinalAnswer, resourceVersion: string): Promise<boolean>;
  /** Merges the reconciler's findings; `signal` drops the call while it is still queued
   * (leadership ended). */
  patch(
    requestId: string,
    findings: Parameters<typeof recordPatch>[0],
    signal?: AbortSignal,
  ): Promise<void>;
  /** Removes a record: an expired one, or a return's written for a call that then failed. */
  remove(requestId: string, signal?: AbortSignal): Promise<void>;
  /** Records failures if the record is still at `resourceVersion`; false when it is not. */
  failIfAt(
    requestId: string,
    failures: Map<number, string>,
    resourceVersion: string,
  ): Promise<boolean>;
}

/** Kubernetes trouble as the provider boundary reports it: retry later, or a clear refusal. */
function asProviderError(error: unknown, doing: string): ProviderError {
  const api = toKubeApiError(error);
  const code = api.kind === "transient" ? "unavailable" : "failed-precondition";
  return new ProviderError(code, `cannot ${doing}: ${api.message}`, { cause: api });
}

/** Request records as labelled ConfigMaps in the sidecar's namespace. */
export function createRecordStore(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
): RecordStore {
  const call = <T>(verb: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    // Records are what HostFactory's calls wait on: ahead of the pod creates in the limiter.
    limiter.schedule(fn, signal, { verb, resource: "configmaps", lane: "record" });
  return {
    async create(configMap) {
      try {
        await withRetry(
          async (attempt) => {
            try {
              await call("create", () =>
                api.createNamespacedConfigMap({ namespace, body: configMap as V1ConfigMap }),
              );
            } catch (error) {
              // A retry that finds the record means an earlier attempt stored it (its answer was lost).
              if (attempt > 1 && toKubeApiError(error).kind === "already-exists") return;
              throw error;
            }
          },
          { maxElapsedMs: HANDLER_RETRY_MS },
        );
      } catch (error) {
        throw asProviderError(error, "store the request record");
      }
    },
    async read(requestId): Promise<RequestRecord | undefined> {
      return (await this.readVersioned(requestId))?.record;
    },
    async readVersioned(requestId) {
      try {
        const configMap = await withRetry(
          () =>
            call("get", () =>
              api.readNamespacedConfigMap({ name: recordName(requestId), namespace }),
            ),
          { maxElapsedMs: HANDLER_RETRY_MS },
        );
        const record = parseRecord(configMap as ConfigMapLike);
        const resourceVersion = configMap.metadata?.resourceVersion ?? "";
        return record && { record, resourceVersion };
      } catch (error) {
        if (toKubeApiError(error).kind === "not-found") return undefined;
        throw asProviderError(error, `read the record of ${requestId}`);
      }
    },
    async fail(requestId, failures) {
      await call("patch", () =>
        api.patchNamespacedConfigMap(
          { name: recordName(requestId), namespace, body: recordPatch({ failures }) },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
    },
    async markAsked(requestId) {
      try {
        await call("patch", () =>
          api.patchNamespacedConfigMap(
            { name: recordName(requestId), namespace, body: recordPatch({ askedAt: Date.now() }) },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          ),
        );
      } catch (error) {
        if (toKubeApiError(error).kind !== "not-found") throw error;
      }
    },
    async failIfAt(requestId, failures, resourceVersion) {
      try {
        await call("patch", () =>
          api.patchNamespacedConfigMap(
            {
              name: recordName(requestId),
              namespace,
              body: { metadata: { resourceVersion }, ...recordPatch({ failures }) },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          ),
        );
        return true;
      } catch (error) {
        const kind = toKubeApiError(error).kind;
        if (kind === "conflict" || kind === "not-found") return false;
        throw error;
      }
    },
    async storeFinal(record, final: FinalAnswer, resourceVersion) {
      try {
        await withRetry(
          () =>
            call("patch", () =>
              api.patchNamespacedConfigMap(
                {
                  name: recordName(record.requestId),
                  namespace,
                  body: finalPatch(record.kind, final, resourceVersion),
                },
                setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
              ),
            ),
          { maxElapsedMs: HANDLER_RETRY_MS },
        );
        return true;
      } catch (error) {
        const kind = toKubeApiError(error).kind;
        if (kind === "conflict" || kind === "not-found") return false;
        throw asProviderError(error, `store the final status of ${record.requestId}`);
      }
    },
    async patch(requestId, findings, signal) {
      await call(
        "patch",
        () =>
          api.patchNamespacedConfigMap(
            { name: recordName(requestId), namespace, body: recordPatch(findings) },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          ),
        signal,
      );
    },
    async remove(requestId, signal) {
      try {
        await call(
          "delete",
          () => api.deleteNamespacedConfigMap({ name: recordName(requestId), namespace }),
          signal,
        );
      } catch (error) {
        const failure = toKubeApiError(error);
        if (failure.kind !== "not-found") throw failure;
      }
    },
  };
}
