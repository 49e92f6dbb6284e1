// Where the regression scenarios run: the simulated cluster (always, in CI), or the real cluster
// HOSTFACTORY_TEST_KUBECONFIG names, in a scratch namespace created for the run and removed after
// it. Either way a real sidecar serves the real scripts, and the cluster is read directly for the
// ground truth and the timings.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { pino } from "pino";
import { type Sidecar, startSidecar } from "../../sidecar/app.ts";
import { loadConfig } from "../../sidecar/config.ts";
import { LABEL_INSTANCE } from "../../sidecar/provider/model.ts";
import { runScript, type ScriptResult, startHarness } from "../e2e/harness.ts";

/** The templates the scenarios request from. */
export const TEMPLATE = "regression-small";
export const UNSCHEDULABLE = "regression-unschedulable";
/** How long the unschedulable template's machines may stay Pending. */
export const PENDING_TIMEOUT_SECONDS = 3;
/** Runs anywhere and stops at once: the kubelet's own pause container. */
const DEFAULT_IMAGE = "registry.k8s.io/pause:3.10";
const INSTANCE = "regression";

export interface Target {
  /** "the simulated cluster" or "the cluster in HOSTFACTORY_TEST_KUBECONFIG". */
  readonly name: string;
  readonly namespace: string;
  /** How much longer than on the simulator things may take here. */
  readonly slowness: number;
  /** Runs scripts/<operation>.sh -f <a file holding input>, as HostFactory does. */
  script(operation: string, input: unknown): Promise<ScriptResult>;
  /** The provider's pods as the API server has them now. */
  pods(): Promise<V1Pod[]>;
  /** Deletes a pod behind the provider's back, as an administrator with kubectl would. */
  deletePod(name: string): Promise<void>;
  /** Takes the provider's pods off a node as `kubectl drain` would; returns when asked to. */
  drain(node: string): Promise<void>;
  /** Calls `onEvent` for every change of the provider's pods, until the target closes. */
  watchPods(onEvent: (type: string, pod: V1Pod) => void): Promise<void>;
  close(): Promise<void>;
}

function templatesFile(dir: string, image: string): string {
  const pod = (cpu: string) => ({
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 1,
    containers: [{ name: "compute", image, resources: { requests: { cpu, memory: "16Mi" } } }],
  });
  const file = join(dir, "templates.json");
  writeFileSync(
    file,
    JSON.stringify({
      templates: [
        {
          templateId: TEMPLATE,
          maxNumber: 200,
          attributes: { ncpus: ["Numeric", "1"], nram: ["Numeric", "16"] },
          podSpec: pod("10m"),
        },
        {
          templateId: UNSCHEDULABLE,
          maxNumber: 10,
          pendingTimeoutSeconds: PENDING_TIMEOUT_SECONDS,
          attributes: { ncpus: ["Numeric", "100000"], nram: ["Numeric", "16"] },
          podSpec: pod("100000"),
        },
      ],
    }),
  );
  return file;
}

function podOperations(kubeConfig: KubeConfig, namespace: string) {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const labelSelector = `${LABEL_INSTANCE}=${INSTANCE}`;
  let aborts: AbortController[] = [];
  return {
    core,
    async pods() {
      return (await core.listNamespacedPod({ namespace, labelSelector })).items;
    },
    async deletePod(name: string) {
      await core.deleteNamespacedPod({ name, namespace });
    },
    /** Evicts the provider's pods on `node` through the Eviction API, as a drain does. */
    async evictFrom(node: string) {
      const list = await core.listNamespacedPod({
        namespace,
        labelSelector,
        fieldSelector: `spec.nodeName=${node}`,
      });
      for (const pod of list.items) {
        const name = pod.metadata?.name ?? "";
        await core.createNamespacedPodEviction({
          name,
          namespace,
          body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } },
        });
      }
    },
    async watchPods(onEvent: (type: string, pod: V1Pod) => void) {
      const controller = await new Watch(kubeConfig).watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector },
        (type, pod) => onEvent(type, pod as V1Pod),
        () => {},
      );
      aborts.push(controller);
    },
    stopWatches() {
      for (const controller of aborts) controller.abort();
      aborts = [];
    },
  };
}

/** The simulated cluster, with pods that start in about as long as a small image on a warm node. */
export async function simulatedCluster(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-regression-"));
  const harness = await startHarness({
    templates: templatesFile(dir, DEFAULT_IMAGE),
    simulator: { podStartDelayMs: 300, podStartJitterMs: 150, podStopDelayMs: 50 },
    flags: { instance: INSTANCE },
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(harness.simulator.kubeconfigYaml);
  const operations = podOperations(kubeConfig, "default");
  return {
    name: "the simulated cluster",
    namespace: "default",
    slowness: 1,
    script: (operation, input) => harness.script(operation, input),
    pods: operations.pods,
    deletePod: operations.deletePod,
    async drain(node) {
      // The simulator's drain is kubectl's: cordon, then evict every pod on the node.
      harness.simulator.cluster.drainNode(node);
    },
    watchPods: operations.watchPods,
    async close() {
      operations.stopWatches();
      await harness.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The cluster of `kubeconfigPath`, in a namespace made for this run. The sidecar runs in this
 * process with the kubeconfig's identity, which must be allowed to create and delete namespaces.
 * The drain evicts the provider's pods from the node without cordoning it: the part of
 * `kubectl drain` the provider sees, without changing a node others may use.
 */
export async function realCluster(kubeconfigPath: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-regression-"));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const namespace = `hf-regression-${Date.now().toString(36)}`;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { "hostfactory-k8s/regression": "true" } } },
  });
  const operations = podOperations(kubeConfig, namespace);
  const address = `unix://${join(dir, "sidecar.sock")}`;
  let sidecar: Sidecar | undefined;
  try {
    const templates = templatesFile(dir, process.env.HOSTFACTORY_TEST_IMAGE ?? DEFAULT_IMAGE);
    const config = loadConfig({ listen: address, instance: INSTANCE, templates }, {});
    sidecar = await startSidecar(
      { ...config, templates, namespace },
      kubeConfig,
      pino({ level: process.env.HOSTFACTORY_TEST_LOG ?? "silent" }),
    );
  } catch (error) {
    await core.deleteNamespace({ name: namespace });
    throw error;
  }
  let inputs = 0;
  return {
    name: `the cluster in HOSTFACTORY_TEST_KUBECONFIG (namespace ${namespace})`,
    namespace,
    slowness: 10,
    script(operation, input) {
      const file = join(dir, `input-${inputs++}.json`);
      writeFileSync(file, JSON.stringify(input));
      return runScript(operation, ["-f", file], { HOSTFACTORY_ADDRESS: address });
    },
    pods: operations.pods,
    deletePod: operations.deletePod,
    drain: operations.evictFrom,
    watchPods: operations.watchPods,
    async close() {
      operations.stopWatches();
      await sidecar?.stop();
      await core.deleteNamespace({ name: namespace });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
