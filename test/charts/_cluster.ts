// The shared real control plane made ready for the chart: the custom resources it may render
// (cert-manager's Certificate, prometheus-operator's ServiceMonitor) defined once.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiException,
  ApiextensionsV1Api,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { type SharedControlPlane, sharedControlPlane } from "../control-plane/index.ts";

const CRDS = join(import.meta.dirname, "fixtures", "third-party-crds.yaml");
const ESTABLISHED_POLL_MS = 100;

/** The shared control plane, once the chart's custom resource kinds are served. */
export async function chartControlPlane(): Promise<SharedControlPlane> {
  const controlPlane = await sharedControlPlane();
  const api = controlPlane.kubeConfig().makeApiClient(ApiextensionsV1Api);
  for (const crd of loadAllYaml(readFileSync(CRDS, "utf8")) as V1CustomResourceDefinition[]) {
    const name = crd.metadata?.name ?? "";
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (error) {
      // Another suite of this run defined it first.
      if (!(error instanceof ApiException && error.code === 409)) throw error;
    }
    for (;;) {
      const read = await api.readCustomResourceDefinition({ name });
      const established = read.status?.conditions?.find((c) => c.type === "Established");
      if (established?.status === "True") break;
      await sleep(ESTABLISHED_POLL_MS);
    }
  }
  return controlPlane;
}
