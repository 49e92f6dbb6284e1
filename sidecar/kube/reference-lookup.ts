// Looks up the objects a template's Pod spec names (provider/template-references.ts): a
// PriorityClass or RuntimeClass (cluster-scoped) or a ServiceAccount of the sidecar's namespace,
// each by name with one get, through the sidecar's rate limiter. Nothing is cached: they are read
// for `hostfactory doctor` and once per requestMachines of a template naming a PriorityClass.
import type { CoreV1Api, NodeV1Api, SchedulingV1Api } from "@kubernetes/client-node";
import type {
  ReferenceFinding,
  ReferenceLookup,
  TemplateReference,
} from "../provider/template-references.ts";
import { toKubeApiError } from "./api-errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export function createReferenceLookup(
  core: CoreV1Api,
  scheduling: SchedulingV1Api,
  node: NodeV1Api,
  limiter: RateLimiter,
  namespace: string,
): ReferenceLookup {
  const read = ({ kind, name }: TemplateReference): Promise<unknown> => {
    switch (kind) {
      case "PriorityClass":
        return limiter.schedule(() => scheduling.readPriorityClass({ name }), undefined, {
          verb: "get",
          resource: "priorityclasses",
        });
      case "RuntimeClass":
        return limiter.schedule(() => node.readRuntimeClass({ name }), undefined, {
          verb: "get",
          resource: "runtimeclasses",
        });
      case "ServiceAccount":
        return limiter.schedule(
          () => core.readNamespacedServiceAccount({ name, namespace }),
          undefined,
          { verb: "get", resource: "serviceaccounts" },
        );
    }
  };
  return async (reference): Promise<ReferenceFinding> => {
    try {
      await read(reference);
      return { state: "found" };
    } catch (error) {
      const failure = toKubeApiError(error);
      // The API server's NotFound names the object; a 404 that does not (a server that serves
      // no such resource, such as the simulator) tells nothing about it.
      if (failure.kind === "not-found" && failure.message.includes(`"${reference.name}"`)) {
        return { state: "missing" };
      }
      return { state: "unknown", error: failure.message };
    }
  };
}
