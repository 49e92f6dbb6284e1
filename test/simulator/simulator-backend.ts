// The simulator as a conformance backend: fast pod starts, a fixed seed, a kubeconfig file for
// kubectl, and the simulator itself for the blocks that test its internals.
import { rm } from "node:fs/promises";
import { KubeConfig } from "@kubernetes/client-node";
import { createSimulator, type SimulatorOptions } from "../../sidecar/simulator/index.ts";
import { apiClients, type Backend, dedicated, rawRequest, withToken } from "./backend.ts";

/** Pod start delay on the simulator backend (tests that need other timings pass their own). */
const POD_START_DELAY_MS = 20;
const POD_START_JITTER_MS = 5;
const SEED = 7;

export async function startSimulatorBackend(options: SimulatorOptions = {}): Promise<Backend> {
  const sim = await createSimulator({
    podStartDelayMs: POD_START_DELAY_MS,
    podStartJitterMs: POD_START_JITTER_MS,
    seed: SEED,
    ...options,
  });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfigYaml);
  const kubeconfigPath = await sim.writeKubeconfig();
  const clients = apiClients(kc);
  return {
    name: "simulator",
    kc,
    ...clients,
    kubeconfigPath,
    async namespace(prefix = "conformance") {
      const created = await clients.core.createNamespace({
        body: { metadata: { generateName: `${prefix}-` } },
      });
      return created.metadata?.name as string;
    },
    async addNode(spec) {
      sim.cluster.addNode(dedicated(spec));
      return spec.name;
    },
    async stopHeartbeat(node) {
      sim.cluster.setNodeReady(node, false);
    },
    async kubeConfigFor(namespace, serviceAccount) {
      const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
      return withToken(kc, user, user);
    },
    async failPod(namespace, name, reason) {
      sim.cluster.failPod(namespace, name, reason === undefined ? {} : { reason });
    },
    raw: (method, path, body, headers) => rawRequest(kc, method, path, body, headers),
    sim,
    async close() {
      await sim.close();
      await rm(kubeconfigPath, { force: true });
    },
  };
}
