// client-node (2.0) builds a new undici Agent for every API call to a cluster with TLS settings
// (every real cluster: a CA at least), so every call opens a connection of its own, with its own
// TLS handshake, kept alive idle for seconds after. At a few hundred calls a second that is
// thousands of sockets (hundreds of MB of RSS) and a handshake per pod created. This gives a
// KubeConfig one agent instead, for as long as its TLS settings stay the same; when they change
// (a rotated client certificate, another context) the next call gets a new agent and the old one
// closes once its calls are done.
import { createHash } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";

interface Dispatcher {
  close(): Promise<void>;
}

type CreateDispatcher = (
  cluster: { server?: string; proxyUrl?: string } | null,
  agentOptions: Record<string, unknown>,
) => Dispatcher | undefined;

/** Makes every API client and watch made from `kubeConfig` share connections; returns it. */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  // A private method of client-node's KubeConfig: test/sidecar/kube/shared-dispatcher.test.ts
  // fails if an upgrade changes it.
  const target = kubeConfig as unknown as { createDispatcher: CreateDispatcher };
  if (typeof target.createDispatcher !== "function") {
    throw new Error("@kubernetes/client-node's KubeConfig no longer has createDispatcher");
  }
  const create = target.createDispatcher.bind(kubeConfig);
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const key = fingerprint(cluster, agentOptions);
    if (current?.key !== key) {
      const previous = current?.dispatcher;
      current = { key, dispatcher: create(cluster, agentOptions) };
      previous?.close().catch(() => {});
    }
    return current.dispatcher;
  };
  return kubeConfig;
}

/** What decides the connection: the server, a proxy, and the TLS material (by content). */
function fingerprint(
  cluster: { server?: string; proxyUrl?: string } | null,
  agentOptions: Record<string, unknown>,
): string {
  const hash = createHash("sha256");
  hash.update(`${cluster?.server ?? ""}\0${cluster?.proxyUrl ?? ""}`);
  for (const name of Object.keys(agentOptions).sort()) {
    const value = agentOptions[name];
    if (value === undefined) continue;
    hash.update(`\0${name}=`);
    for (const part of [value].flat()) {
      hash.update(Buffer.isBuffer(part) ? part : String(part));
    }
  }
  return hash.digest("hex");
}
