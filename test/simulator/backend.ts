// What a conformance test sees of a cluster, whichever backend it runs on (the simulator, or
// the real control plane: kube-apiserver, etcd, scheduler, controller-manager and KWOK nodes
// built from source), and the helpers both backends share. A test written against a Backend sees
// only what a client of a cluster sees, so the same test is the simulator's spec and its
// measurement against the real thing. describeOnBackends (backends.ts) runs a block on both.
import { request as httpsRequest } from "node:https";
import { CoordinationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { NodeSpec, Simulator } from "../../sidecar/simulator/index.ts";

export type BackendName = "simulator" | "real";

export interface RawResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the server answered.
  json: any;
  text: string;
}

/** A cluster as its clients see it. */
export interface Backend {
  readonly name: BackendName;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  /** A kubeconfig file for kubectl. */
  readonly kubeconfigPath: string;
  /**
   * A fresh namespace of the caller's own, ready for pods (on the real server: once its
   * default ServiceAccount exists, which pod admission requires).
   */
  namespace(prefix?: string): Promise<string>;
  /**
   * Adds a node (a simulated one, or a KWOK node) once it is Ready; answers its name. It carries
   * DEDICATED_TAINT, so that only pods that tolerate it (or are bound to it by name) land there:
   * on the shared real control plane, other suites' pods must not.
   */
  addNode(spec: NodeSpec): Promise<string>;
  /**
   * Silences a node's kubelet; resolves once the node is NotReady (the simulator's
   * setNodeReady(false); on the real server, KWOK lets go and the node lifecycle controller acts).
   */
  stopHeartbeat(node: string): Promise<void>;
  /**
   * A KubeConfig that authenticates as the ServiceAccount (a TokenRequest token on the real
   * server; on the simulator, which takes any token, the same user as the admin's).
   */
  kubeConfigFor(namespace: string, serviceAccount: string): Promise<KubeConfig>;
  /** Makes a pod's container fail (the simulator's failPod, KWOK's failure stage). */
  failPod(namespace: string, name: string, reason?: string): Promise<void>;
  /** An HTTP request with the kubeconfig's credentials, for what client-node cannot express. */
  raw(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RawResponse>;
  /** The simulator itself, on the simulator backend only (its internals are not the API). */
  readonly sim: Simulator | undefined;
  close(): Promise<void>;
}

/** The taint every node a conformance test adds carries; see Backend.addNode. */
export const DEDICATED_TAINT = {
  key: "conformance.hostfactory-k8s.io/dedicated",
  value: "conformance",
  effect: "NoSchedule",
} as const;

/** The toleration of DEDICATED_TAINT, for pods that go through the scheduler to such nodes. */
export const DEDICATED_TOLERATION = {
  key: DEDICATED_TAINT.key,
  operator: "Equal",
  value: DEDICATED_TAINT.value,
  effect: DEDICATED_TAINT.effect,
} as const;

/** `spec` with DEDICATED_TAINT added to its taints. */
export function dedicated(spec: NodeSpec): NodeSpec {
  return { ...spec, taints: [...(spec.taints ?? []), DEDICATED_TAINT] };
}

/** `kc`'s cluster, with a bearer token for its user. */
export function withToken(kc: KubeConfig, user: string, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const result = new KubeConfig();
  result.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return result;
}

/** Wraps a KubeConfig in the typed clients every backend offers. */
export function apiClients(kc: KubeConfig) {
  return { core: kc.makeApiClient(CoreV1Api), coordination: kc.makeApiClient(CoordinationV1Api) };
}

/**
 * A request with the kubeconfig's credentials. Plain HTTP (the simulator) goes through fetch,
 * which both Node and Deno have; HTTPS (the real server, with a client certificate) through
 * node:https, which takes the certificate from the kubeconfig as client-node does.
 */
export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server ?? "";
  const payload =
    body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const allHeaders = { "Content-Type": "application/json", ...headers };
  if (server.startsWith("http:")) {
    const token = kc.getCurrentUser()?.token;
    const response = await fetch(`${server}${path}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...allHeaders },
      ...(payload === undefined ? {} : { body: payload }),
    });
    return parsed(response.status, response.headers, await response.text());
  }
  // A length, not chunks: the API server reads no chunked body on DELETE (its DeleteOptions).
  const options: Parameters<typeof httpsRequest>[1] = {
    method,
    headers: {
      ...allHeaders,
      ...(payload === undefined ? {} : { "Content-Length": String(Buffer.byteLength(payload)) }),
    },
  };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(`${server}${path}`), options, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        text += chunk;
      });
      response.on("end", () => {
        const responseHeaders = new Headers();
        for (const [key, value] of Object.entries(response.headers)) {
          if (typeof value === "string") responseHeaders.set(key, value);
          else if (Array.isArray(value))
            for (const item of value) responseHeaders.append(key, item);
        }
        resolve(parsed(response.statusCode ?? 0, responseHeaders, text));
      });
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}

function parsed(status: number, headers: Headers, text: string): RawResponse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, json, text };
}
