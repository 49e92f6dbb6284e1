// What refused input must leave alone: the pods and configmaps of the harness's namespace, each
// by name and resourceVersion, so that any write (even one that changes nothing) shows.
import type { Simulator } from "../../sidecar/simulator/index.ts";

export function clusterSnapshot(simulator: Simulator, namespace = "default"): string[] {
  return ["pods", "configmaps"]
    .flatMap((resource) =>
      simulator.store
        .list(resource, namespace)
        .map((object) => `${resource}/${object.metadata.name}@${object.metadata.resourceVersion}`),
    )
    .sort();
}
