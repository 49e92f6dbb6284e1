// The real control plane as a conformance backend: the one control plane the test run shares
// (see test/control-plane/index.ts). Other suites run on it at the same time, so every test works
// in namespaces of its own, and whatever this backend added (namespaces, nodes) goes with it.
import { existsSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import type { NodeSpec } from "../../sidecar/simulator/index.ts";
import { apiClients, type Backend, dedicated, rawRequest, withToken } from "./backend.ts";
import { found } from "./helpers.ts";

/** What this backend uses of test/control-plane/index.ts. */
interface ControlPlaneModule {
  controlPlaneUnavailable(): string | undefined;
  sharedControlPlane(): Promise<{
    readonly kubeconfigPath: string;
    kubeConfig(): KubeConfig;
    waitForServiceAccount(namespace: string): Promise<void>;
    addNode(spec: NodeSpec): Promise<string>;
    stopHeartbeat(node: string): Promise<void>;
    failPod(namespace: string, name: string, reason?: string): Promise<void>;
    tokenFor(namespace: string, serviceAccount: string): Promise<string>;
  }>;
}

/**
 * The control plane module, loaded where it can run: under Node (its components are child
 * processes guarded through pipes, its clients present client certificates; the Deno run of this
 * suite keeps to the simulator), and in a tree that has it (it landed beside this suite).
 */
const CONTROL_PLANE_MODULE = new URL("../control-plane/index.ts", import.meta.url);
const controlPlane: ControlPlaneModule | undefined =
  "Deno" in globalThis || !existsSync(CONTROL_PLANE_MODULE)
    ? undefined
    : await import(CONTROL_PLANE_MODULE.href);

/** Why the real backend cannot run here, or undefined when it can. */
export function realBackendUnavailable(): string | undefined {
  if ("Deno" in globalThis) return "the real control plane blocks run on Node only";
  if (!controlPlane) return "no real control plane in this tree (test/control-plane/index.ts)";
  return controlPlane.controlPlaneUnavailable();
}

export async function startRealBackend(): Promise<Backend> {
  if (!controlPlane) throw new Error(realBackendUnavailable());
  const plane = await controlPlane.sharedControlPlane();
  const kc = plane.kubeConfig();
  const clients = apiClients(kc);
  const namespaces: string[] = [];
  const nodes: string[] = [];
  return {
    name: "real",
    kc,
    ...clients,
    kubeconfigPath: plane.kubeconfigPath,
    async namespace(prefix = "conformance") {
      const created = await clients.core.createNamespace({
        body: { metadata: { generateName: `${prefix}-` } },
      });
      const name = created.metadata?.name as string;
      namespaces.push(name);
      await plane.waitForServiceAccount(name);
      return name;
    },
    async addNode(spec) {
      const name = await plane.addNode(dedicated(spec));
      nodes.push(name);
      return name;
    },
    stopHeartbeat: (node) => plane.stopHeartbeat(node),
    async kubeConfigFor(namespace, serviceAccount) {
      const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
      return withToken(kc, user, await plane.tokenFor(namespace, serviceAccount));
    },
    failPod: (namespace, name, reason) => plane.failPod(namespace, name, reason),
    raw: (method, path, body, headers) => rawRequest(kc, method, path, body, headers),
    sim: undefined,
    async close() {
      for (const name of nodes.splice(0)) await found(clients.core.deleteNode({ name }));
      for (const name of namespaces.splice(0)) {
        await found(clients.core.deleteNamespace({ name }));
      }
    },
  };
}
