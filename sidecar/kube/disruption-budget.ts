// The instance's one PodDisruptionBudget: it selects the pods of cooperative templates and allows
// no voluntary disruption of them, so an eviction (kubectl drain, an autoscaler) is refused with
// 429 until HostFactory returns the host and the sidecar deletes its pod (a delete is no eviction).
// maxUnavailable 0 over pods without a controller leaves the disruption controller no expected
// count, and it then allows no disruption at all (it warns UnmanagedPods on the budget, as for any
// budget over bare pods).
import { isDeepStrictEqual } from "node:util";
import type { PolicyV1Api, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { LABEL_DRAIN_POLICY, LABEL_INSTANCE } from "../provider/model.ts";
import { toKubeApiError } from "./api-errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** The budget's name for an instance (a label value, so made a DNS name). */
export function disruptionBudgetName(instance: string): string {
  return `hostfactory-k8s-${instance.toLowerCase().replace(/[_.]/g, "-")}-hosts`;
}

export interface DisruptionBudget {
  readonly name: string;
  /** Creates the budget, or puts back its spec when it was changed; says which it did. */
  ensure(): Promise<"created" | "updated" | "unchanged">;
}

export function createDisruptionBudget(
  api: PolicyV1Api,
  limiter: RateLimiter,
  namespace: string,
  instance: string,
): DisruptionBudget {
  const name = disruptionBudgetName(instance);
  const selector = {
    matchLabels: { [LABEL_INSTANCE]: instance, [LABEL_DRAIN_POLICY]: "cooperative" },
  };
  const wanted = (): V1PodDisruptionBudget => ({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, namespace, labels: { [LABEL_INSTANCE]: instance } },
    spec: { maxUnavailable: 0, selector },
  });
  const call = <T>(verb: string, fn: () => Promise<T>): Promise<T> =>
    limiter.schedule(fn, undefined, { verb, resource: "poddisruptionbudgets" });
  const read = async (): Promise<V1PodDisruptionBudget | undefined> => {
    try {
      return await call("get", () => api.readNamespacedPodDisruptionBudget({ name, namespace }));
    } catch (error) {
      if (toKubeApiError(error).kind === "not-found") return undefined;
      throw toKubeApiError(error);
    }
  };
  const isWanted = (budget: V1PodDisruptionBudget) =>
    budget.spec?.maxUnavailable === 0 &&
    budget.spec.minAvailable === undefined &&
    budget.spec.unhealthyPodEvictionPolicy === undefined &&
    (budget.spec.selector?.matchExpressions ?? []).length === 0 &&
    isDeepStrictEqual({ ...budget.spec.selector?.matchLabels }, selector.matchLabels);

  return {
    name,
    async ensure() {
      const found = await read();
      if (!found) {
        try {
          await call("create", () =>
            api.createNamespacedPodDisruptionBudget({ namespace, body: wanted() }),
          );
          return "created";
        } catch (error) {
          // Another replica that led a moment ago made it; the next check compares it.
          if (toKubeApiError(error).kind === "already-exists") return "unchanged";
          throw toKubeApiError(error);
        }
      }
      if (isWanted(found)) return "unchanged";
      const body = wanted();
      body.metadata = { ...found.metadata, ...body.metadata };
      await call("update", () =>
        api.replaceNamespacedPodDisruptionBudget({ name, namespace, body }),
      ).catch((error) => {
        throw toKubeApiError(error);
      });
      return "updated";
    },
  };
}
