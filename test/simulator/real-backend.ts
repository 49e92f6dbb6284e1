// The real control plane as a conformance backend: the one control plane the test run shares
// (see test/control-plane/index.ts). Other suites run on it at the same time, so every test works
// in namespaces of its own, and whatever this backend added (namespaces, nodes) goes with it.
import { controlPlaneUnavailable, sharedControlPlane } from "../control-plane/index.ts";
import { apiClients, type Backend, dedicated, rawRequest, withToken } from "./backend.ts";
import { found } from "./helpers.ts";

/** Why the real backend cannot run here, or undefined when it can. */
export function realBackendUnavailable(): string | undefined {
  // The control plane is child processes guarded through pipes, and its clients present client
  // certificates: the Deno run of this suite keeps to the simulator.
  if ("Deno" in globalThis) return "the real control plane blocks run on Node only";
  return controlPlaneUnavailable();
}

export async function startRealBackend(): Promise<Backend> {
  const plane = await sharedControlPlane();
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
