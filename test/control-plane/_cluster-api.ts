// What a test does to the control plane through its API alone, with the admin's credentials:
// namespaces, KWOK nodes, a node's kubelet going silent, a pod failing, ServiceAccount tokens.
// Both a control plane this process runs and the shared one (another process runs it) offer it.
import { randomBytes } from "node:crypto";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from "@kubernetes/client-node";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import { kubeconfigYaml, writeKubeconfig } from "./_certificates.ts";
import { FAIL_REASON_ANNOTATION, KWOK_MANAGED_LABEL } from "./_components.ts";

/** How long a node, a namespace or a pod state may take to come (a loaded 2-core CI box). */
export const READY_TIMEOUT_MS = 180_000;
const POLL_INTERVAL_MS = 200;
/** How the control plane's setup waits: a component still starting answers with errors. */
export const READY_WAIT: WaitOptions = {
  timeoutMs: READY_TIMEOUT_MS,
  intervalMs: POLL_INTERVAL_MS,
  retryErrors: true,
};
const DEFAULT_NODE = { cpu: "8", memory: "32Gi", pods: 110 };
const TOKEN_SECONDS = 3600;

export interface NodeSpec {
  /** Default: kwok-node-<random>. */
  name?: string;
  /** Default "8". */
  cpu?: string;
  /** Default "32Gi". */
  memory?: string;
  /** Default 110. */
  pods?: number;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  /** Extra allocatable resources, e.g. {"nvidia.com/gpu": "4"}. */
  extendedResources?: Record<string, string>;
}

export interface ClusterApi {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** A fresh admin KubeConfig for @kubernetes/client-node. */
  kubeConfig(): KubeConfig;
  /** Creates a namespace (default name: test-<random>) once it has its default ServiceAccount. */
  createNamespace(name?: string): Promise<string>;
  /** Resolves once the ServiceAccount exists (default: the namespace's "default"). */
  waitForServiceAccount(namespace: string, name?: string): Promise<void>;
  /** Adds a KWOK node and resolves with its name once it is Ready and schedulable. */
  addNode(spec: NodeSpec): Promise<string>;
  /**
   * Takes the node's kubelet away (KWOK lets go of it: no more lease renewals or status) and
   * resolves once the real node lifecycle controller has marked it NotReady.
   */
  stopHeartbeat(node: string): Promise<void>;
  /**
   * Fails a pod bound to a KWOK node, as its containers exiting 1 with this termination reason
   * (default "Error"); resolves once the pod is Failed.
   */
  failPod(namespace: string, name: string, reason?: string): Promise<void>;
  /** A ServiceAccount token from the TokenRequest API, valid for an hour. */
  tokenFor(namespace: string, serviceAccount: string): Promise<string>;
  /** Writes a kubeconfig for the ServiceAccount (its token, its namespace) to path; returns path. */
  kubeconfigFor(namespace: string, serviceAccount: string, path: string): Promise<string>;
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

function nodeObject(name: string, spec: NodeSpec): V1Node {
  const resources: Record<string, string> = {
    cpu: spec.cpu ?? DEFAULT_NODE.cpu,
    memory: spec.memory ?? DEFAULT_NODE.memory,
    pods: String(spec.pods ?? DEFAULT_NODE.pods),
    ...spec.extendedResources,
  };
  const [a = 0, b = 0] = randomBytes(2);
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        type: "kwok",
        ...spec.labels,
        [KWOK_MANAGED_LABEL]: "true",
      },
      annotations: { "kwok.x-k8s.io/node": "fake" },
    },
    spec: { taints: spec.taints },
    status: {
      allocatable: resources,
      capacity: resources,
      // KWOK would give every node the same address.
      addresses: [{ type: "InternalIP", address: `10.96.${a}.${b}` }],
    },
  };
}

/** Ready, and rid of the not-ready taint the admission gave it at creation. */
function isReadyAndSchedulable(node: V1Node): boolean {
  const ready = node.status?.conditions?.find((condition) => condition.type === "Ready");
  const conditionTaint = node.spec?.taints?.some((taint) =>
    taint.key.startsWith("node.kubernetes.io/"),
  );
  return ready?.status === "True" && !conditionTaint;
}

export interface ClusterApiOptions {
  server: string;
  /** The admin kubeconfig's YAML. */
  adminKubeconfig: string;
  /** The CA certificate (PEM) that ServiceAccount kubeconfigs trust. */
  caCert: string;
  /** Says more about a timeout, e.g. that the component it waited on died (default: nothing). */
  explain?: (component: "kube-controller-manager" | "kwok") => string;
}

export function createClusterApi(options: ClusterApiOptions): ClusterApi {
  const { server, adminKubeconfig, caCert } = options;
  const explain = options.explain ?? (() => "");
  const kubeConfig = () => {
    const config = new KubeConfig();
    config.loadFromString(adminKubeconfig);
    return config;
  };
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

  const waitForServiceAccount = async (namespace: string, name = "default") => {
    await waitFor(
      () =>
        `namespace ${namespace} to get its ServiceAccount ${name}${explain("kube-controller-manager")}`,
      async () => {
        try {
          await core.readNamespacedServiceAccount({ name, namespace });
          return true;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      READY_WAIT,
    );
  };

  const tokenFor = async (namespace: string, serviceAccount: string) => {
    const response = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } },
    });
    const token = response.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} gave no token`);
    return token;
  };

  return {
    server,
    kubeConfig,
    async createNamespace(name = randomName("test")) {
      await core.createNamespace({ body: { metadata: { name } } });
      await waitForServiceAccount(name);
      return name;
    },
    waitForServiceAccount,
    async addNode(spec) {
      const name = spec.name ?? randomName("kwok-node");
      await core.createNode({ body: nodeObject(name, spec) });
      await waitFor(
        () => `node ${name} to become Ready and schedulable${explain("kwok")}`,
        async () => (isReadyAndSchedulable(await core.readNode({ name })) ? name : undefined),
        READY_WAIT,
      );
      return name;
    },
    async stopHeartbeat(node) {
      await core.patchNode(
        { name: node, body: { metadata: { labels: { [KWOK_MANAGED_LABEL]: null } } } },
        mergePatch,
      );
      await waitFor(
        () => `node ${node} to be marked NotReady${explain("kube-controller-manager")}`,
        async () => {
          const read = await core.readNode({ name: node });
          const ready = read.status?.conditions?.find((condition) => condition.type === "Ready");
          return ready?.status !== "True" ? true : undefined;
        },
        READY_WAIT,
      );
    },
    async failPod(namespace, name, reason = "Error") {
      const annotations = { [FAIL_REASON_ANNOTATION]: reason };
      await core.patchNamespacedPod(
        { name, namespace, body: { metadata: { annotations } } },
        mergePatch,
      );
      await waitFor(
        () =>
          `pod ${namespace}/${name} to fail (KWOK fails only pods bound to its nodes)` +
          explain("kwok"),
        async () => {
          const pod = await core.readNamespacedPod({ name, namespace });
          return pod.status?.phase === "Failed" ? true : undefined;
        },
        READY_WAIT,
      );
    },
    tokenFor,
    async kubeconfigFor(namespace, serviceAccount, path) {
      const token = await tokenFor(namespace, serviceAccount);
      const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
      writeKubeconfig(path, kubeconfigYaml({ server, caCert, user, token, namespace }));
      return path;
    },
  };
}
