// End-to-end harness on the real control plane (test/control-plane): kube-apiserver, etcd, the
// scheduler, the controller manager and KWOK's nodes, the run's shared one or a suite's own. Each
// harness works in a namespace of its own; the sidecars use the control plane's admin kubeconfig,
// and the ground truth is read through the API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import type { SharedControlPlane } from "../control-plane/index.ts";
import { createGroundTruth } from "./ground-truth.ts";
import {
  createSidecarDriver,
  type E2eHarness,
  INSTANCE,
  type SidecarDriverOptions,
} from "./harness.ts";

export interface ControlPlaneHarness extends E2eHarness {
  readonly controlPlane: SharedControlPlane;
  readonly namespace: string;
}

export async function startControlPlaneHarness(
  controlPlane: SharedControlPlane,
  options: Omit<SidecarDriverOptions, "dir" | "kubeconfigPath" | "namespace"> & {
    /** Start the in-process sidecar at once (default true). */
    sidecar?: boolean;
  } = {},
): Promise<ControlPlaneHarness> {
  const namespace = await controlPlane.createNamespace();
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-e2e-"));
  const kubeConfig = controlPlane.kubeConfig();
  const driver = createSidecarDriver({
    ...options,
    dir,
    kubeconfigPath: controlPlane.kubeconfigPath,
    namespace,
  });
  const stopSidecars = driver.close;
  const harness: ControlPlaneHarness = Object.assign(driver, {
    controlPlane,
    namespace,
    truth: createGroundTruth(kubeConfig, namespace, INSTANCE),
    async close() {
      await stopSidecars();
      // The namespace controller deletes what is left in it (pods, records, the Lease).
      await kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
      rmSync(dir, { recursive: true, force: true });
    },
  });
  if (options.sidecar !== false) await harness.startSidecar();
  return harness;
}
