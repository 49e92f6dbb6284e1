// Request records in the API server: create (before a request id is handed out), direct reads
// for read-your-writes, merge patches of findings, and deletion once expired.
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { toKubeApiError } from "./kube/api-errors.ts";
import type { RateLimiter } from "./kube/rate-limiter.ts";
import { ProviderError } from "./provider/errors.ts";
import type { RequestRecord } from "./provider/model.ts";
import { recordName } from "./provider/naming.ts";
import { type ConfigMapLike, parseRecord, recordPatch } from "./provider/records.ts";
import type { RecordStore } from "./provider-service.ts";

export interface RecordApi extends RecordStore {
  patch(requestId: string, findings: Parameters<typeof recordPatch>[0]): Promise<void>;
  remove(requestId: string): Promise<void>;
}

/** Kubernetes trouble as the provider boundary reports it: retry later, or a clear refusal. */
function asProviderError(error: unknown, doing: string): ProviderError {
  const api = toKubeApiError(error);
  const code = api.kind === "transient" ? "unavailable" : "failed-precondition";
  return new ProviderError(code, `cannot ${doing}: ${api.message}`, { cause: api });
}

export function createRecordApi(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
): RecordApi {
  return {
    async create(configMap) {
      try {
        await limiter.schedule(() =>
          api.createNamespacedConfigMap({ namespace, body: configMap as V1ConfigMap }),
        );
      } catch (error) {
        throw asProviderError(error, "store the request record");
      }
    },
    async read(requestId): Promise<RequestRecord | undefined> {
      try {
        const configMap = await limiter.schedule(() =>
          api.readNamespacedConfigMap({ name: recordName(requestId), namespace }),
        );
        return parseRecord(configMap as ConfigMapLike);
      } catch (error) {
        if (toKubeApiError(error).kind === "not-found") return undefined;
        throw asProviderError(error, `read the record of ${requestId}`);
      }
    },
    async patch(requestId, findings) {
      await limiter.schedule(() =>
        api.patchNamespacedConfigMap(
          { name: recordName(requestId), namespace, body: recordPatch(findings) },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      );
    },
    async remove(requestId) {
      try {
        await limiter.schedule(() =>
          api.deleteNamespacedConfigMap({ name: recordName(requestId), namespace }),
        );
      } catch (error) {
        const failure = toKubeApiError(error);
        if (failure.kind !== "not-found") throw failure;
      }
    },
  };
}
