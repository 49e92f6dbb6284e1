// Where the sidecar's Kubernetes credentials come from, in the order controller-runtime uses:
// an explicit kubeconfig, $KUBECONFIG, the pod's service account, then ~/.kube/config. Unlike
// client-node's loadFromDefault, finding nothing is an error, not a silent http://localhost:8080.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

/** Where a pod's service account token is mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export type KubeConfigSource = "file" | "KUBECONFIG" | "in-cluster" | "home";

export interface LoadKubeConfigOptions {
  /** A kubeconfig file to use, no fallback. */
  kubeconfig?: string;
  /** Use the pod's service account, no fallback. */
  inCluster?: boolean;
  /** A kubeconfig context other than the current one. */
  context?: string;
  /** Default `os.homedir()`. */
  homeDir?: string;
  /** Prefix of {@link SERVICE_ACCOUNT_DIR}, for tests. Default "". */
  rootDir?: string;
}

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The namespace the context or service account names, if any. */
  namespace: string | undefined;
}

export function loadKubeConfig(options: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = process.env;
  const rootDir = options.rootDir ?? "";
  const kubeConfig = new KubeConfig();
  const inClusterAvailable =
    Boolean(env.KUBERNETES_SERVICE_HOST) &&
    existsSync(join(rootDir + SERVICE_ACCOUNT_DIR, "token"));
  const homeConfig = join(options.homeDir ?? homedir(), ".kube", "config");

  let source: KubeConfigSource;
  if (options.kubeconfig) {
    kubeConfig.loadFromFile(options.kubeconfig);
    source = "file";
  } else if (options.inCluster) {
    if (!inClusterAvailable) {
      throw new Error(
        `in-cluster configuration requested, but KUBERNETES_SERVICE_HOST is unset or ${SERVICE_ACCOUNT_DIR}/token is missing`,
      );
    }
    kubeConfig.loadFromCluster(rootDir);
    source = "in-cluster";
  } else if (env.KUBECONFIG) {
    const [first, ...rest] = env.KUBECONFIG.split(delimiter).filter(Boolean);
    if (first === undefined) throw new Error("KUBECONFIG names no file");
    kubeConfig.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kubeConfig.mergeConfig(more);
    }
    source = "KUBECONFIG";
  } else if (inClusterAvailable) {
    kubeConfig.loadFromCluster(rootDir);
    source = "in-cluster";
  } else if (existsSync(homeConfig)) {
    kubeConfig.loadFromFile(homeConfig);
    source = "home";
  } else {
    throw new Error(
      `no Kubernetes configuration found: pass a kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ${homeConfig}`,
    );
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) {
      const available = kubeConfig.getContexts().map((c) => c.name);
      throw new Error(
        `kubeconfig context "${options.context}" not found; available: ${available.join(", ") || "none"}`,
      );
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const namespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return { kubeConfig, source, namespace: namespace?.trim() || undefined };
}
