// Shared by the tests that drive real client-node over HTTP against the API simulator.

import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
} from "../../../sidecar/simulator/index.ts";

export const NAMESPACE = "hpc";

export interface Harness {
  sim: Simulator;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Harness> {
  const sim = await createSimulator({ namespaces: [NAMESPACE], recordEvents: false, ...options });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(sim.kubeconfigYaml);
  return { sim, kubeConfig, core: kubeConfig.makeApiClient(CoreV1Api) };
}

export function podBody(name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      containers: [
        {
          name: "compute",
          image: "registry.example.com/symphony/compute:7.3.2",
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
        },
      ],
      restartPolicy: "Never",
    },
  };
}
