// The reservation ledger: one ConfigMap per provider instance listing the machines accepted
// lately, by request, until their records reach every replica's cache. Replicas admit requests
// through it with optimistic concurrency (writes conditional on the resourceVersion read), so
// requests accepted at once by two replicas can never together exceed a template's maxNumber.
import {
  type CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { LABEL_INSTANCE } from "../provider/model.ts";
import { toKubeApiError } from "./api-errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";
import { withRetry } from "./retry.ts";

/** How long a caller retries transient API trouble before it gives up. */
const LEDGER_RETRY_MS = 10_000;

/** Machines a request was granted, and until when the grant counts without its record. */
export interface LedgerEntry {
  templateId: string;
  count: number;
  /** Epoch milliseconds. */
  until: number;
}

export interface Ledger {
  /** The version a conditional write must match. */
  resourceVersion: string;
  entries: Map<string, LedgerEntry>;
}

export interface LedgerStore {
  /** The ledger as the API server has it now; undefined before its first write. */
  read(): Promise<Ledger | undefined>;
  /**
   * Adds or (null) removes entries if the ledger is still at `resourceVersion` (undefined: it
   * does not exist yet, so it is created). False when another write came first.
   */
  write(changes: Record<string, LedgerEntry | null>, resourceVersion?: string): Promise<boolean>;
  /** Removes an entry whatever the version (a grant whose request was not stored). */
  remove(requestId: string): Promise<void>;
}

/** The ledger's ConfigMap name for an instance (a label value, so made a DNS name). */
export function ledgerName(instance: string): string {
  return `hostfactory-reservations-${instance.toLowerCase().replace(/[_.]/g, "-")}`;
}

function parseEntry(text: string): LedgerEntry | undefined {
  try {
    const { templateId, count, until } = JSON.parse(text) ?? {};
    if (typeof templateId === "string" && Number.isInteger(count) && typeof until === "number") {
      return { templateId, count, until };
    }
  } catch {}
  return undefined;
}

function encode(changes: Record<string, LedgerEntry | null>): Record<string, string | null> {
  return Object.fromEntries(
    Object.entries(changes).map(([id, entry]) => [id, entry && JSON.stringify(entry)]),
  );
}

export function createLedgerStore(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
  instance: string,
): LedgerStore {
  const name = ledgerName(instance);
  const call = <T>(verb: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(() => limiter.schedule(fn, undefined, { verb, resource: "configmaps" }), {
      maxElapsedMs: LEDGER_RETRY_MS,
    });
  const patch = (body: object) =>
    api.patchNamespacedConfigMap(
      { name, namespace, body },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  return {
    async read() {
      try {
        const configMap = await call("get", () => api.readNamespacedConfigMap({ name, namespace }));
        const entries = new Map<string, LedgerEntry>();
        for (const [id, text] of Object.entries(configMap.data ?? {})) {
          const entry = parseEntry(text);
          if (entry) entries.set(id, entry);
        }
        return { resourceVersion: configMap.metadata?.resourceVersion ?? "", entries };
      } catch (error) {
        if (toKubeApiError(error).kind === "not-found") return undefined;
        throw error;
      }
    },
    async write(changes, resourceVersion) {
      const data = encode(changes);
      try {
        if (resourceVersion === undefined) {
          const kept = Object.entries(data).filter(([, text]) => text !== null);
          const body = {
            metadata: { name, labels: { [LABEL_INSTANCE]: instance } },
            data: Object.fromEntries(kept),
          } as V1ConfigMap;
          await call("create", () => api.createNamespacedConfigMap({ namespace, body }));
        } else {
          await call("patch", () => patch({ metadata: { resourceVersion }, data }));
        }
        return true;
      } catch (error) {
        const kind = toKubeApiError(error).kind;
        if (kind === "conflict" || kind === "already-exists" || kind === "not-found") return false;
        throw error;
      }
    },
    async remove(requestId) {
      try {
        await call("patch", () => patch({ data: { [requestId]: null } }));
      } catch (error) {
        if (toKubeApiError(error).kind !== "not-found") throw error;
      }
    },
  };
}
