// The real Kubernetes control plane for tests: kube-apiserver, etcd, kube-scheduler,
// kube-controller-manager built from the pinned Go modules in this folder (or envtest's binaries),
// and KWOK for nodes and kubelets, all on 127.0.0.1.
//
// Two ways to use it:
// - startControlPlane(): a control plane of your own, for suites that kill, restart or starve
//   components, or need their own timings. About 15-30 s to boot; stop() it in after().
// - sharedControlPlane(): a handle onto the one control plane a whole `npm test` run shares
//   (test/control-plane/global-setup.ts boots it once and exports its admin kubeconfig in
//   HOSTFACTORY_CONTROL_PLANE_KUBECONFIG), for suites that need only a namespace, nodes, tokens
//   and pod failures. Use createNamespace() and nodes you addNode() yourself for anything you
//   disturb: other suites run beside you. Run outside `npm test` (a single test file), it boots a
//   control plane for this process, which ends with it.
//
// Skipping: describe(..., { skip: controlPlaneUnavailable() }) skips a suite with the reason when
// the binaries cannot be had (no Go, no KUBEBUILDER_ASSETS). HOSTFACTORY_REQUIRE_CONTROL_PLANE=1
// (set by .ci/run) turns that skip into a failure: the suite runs and fails with the reason.
import { readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { opensslUnavailable } from "./_certificates.ts";
import { type ClusterApi, createClusterApi } from "./_cluster-api.ts";
import { binariesUnavailable } from "./binaries.ts";
import { startControlPlane } from "./control-plane.ts";

export type { ClusterApi, NodeSpec } from "./_cluster-api.ts";
export type { BinaryName, BinaryPaths } from "./binaries.ts";
export { ensureBinaries } from "./binaries.ts";
export type {
  ControlPlane,
  ControlPlaneComponent,
  ControlPlaneOptions,
} from "./control-plane.ts";
export { startControlPlane } from "./control-plane.ts";

/** Where the global setup leaves the shared control plane's admin kubeconfig. */
export const SHARED_KUBECONFIG_VARIABLE = "HOSTFACTORY_CONTROL_PLANE_KUBECONFIG";
/** Set to 1 (CI does) to fail, not skip, suites when the control plane cannot be had. */
export const REQUIRE_VARIABLE = "HOSTFACTORY_REQUIRE_CONTROL_PLANE";

let unavailable: { reason: string | undefined } | undefined;

/** Why the real control plane cannot run here (a reason to skip), or undefined when it can. */
export function controlPlaneUnavailable(): string | undefined {
  if (process.env[REQUIRE_VARIABLE] === "1" || process.env[SHARED_KUBECONFIG_VARIABLE]) {
    return undefined;
  }
  unavailable ??= { reason: binariesUnavailable() ?? opensslUnavailable() };
  return unavailable.reason && `real control plane unavailable: ${unavailable.reason}`;
}

export interface SharedControlPlane extends ClusterApi {
  readonly kubeconfigPath: string;
  readonly kubeconfigYaml: string;
}

let shared: Promise<SharedControlPlane> | undefined;

/** The control plane this test run shares (see the top of this file). */
export function sharedControlPlane(): Promise<SharedControlPlane> {
  shared ??= connectOrStart();
  return shared;
}

async function connectOrStart(): Promise<SharedControlPlane> {
  const path = process.env[SHARED_KUBECONFIG_VARIABLE];
  if (path) {
    const yaml = readFileSync(path, "utf8");
    const config = new KubeConfig();
    config.loadFromString(yaml);
    const cluster = config.getCurrentCluster();
    if (!cluster?.caData)
      throw new Error(`${SHARED_KUBECONFIG_VARIABLE}=${path}: no cluster with CA data`);
    const caCert = Buffer.from(cluster.caData, "base64").toString("utf8");
    const api = createClusterApi({ server: cluster.server, adminKubeconfig: yaml, caCert });
    return { ...api, kubeconfigPath: path, kubeconfigYaml: yaml };
  }
  // It ends with this process.
  return startControlPlane();
}
