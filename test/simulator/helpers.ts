// Shared setup for the simulator conformance suite: a simulator, client-node clients bound to
// it, and small helpers to collect watch events and wait for conditions.
import { request } from "node:http";
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
} from "../../sidecar/simulator/index.ts";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";

export interface Env {
  sim: Simulator;
  kc: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

/** A simulator with fast pod starts (tests that need other timings pass their own). */
export async function startEnv(options: SimulatorOptions = {}): Promise<Env> {
  const sim = await createSimulator({
    podStartDelayMs: 20,
    podStartJitterMs: 5,
    seed: 7,
    ...options,
  });
  const kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfigYaml);
  return {
    sim,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
export const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
export const strategicPatch = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

/**
 * A pod manifest. `manual` names a scheduler that does not exist, so no controller touches the
 * pod (tests that update it need its resourceVersion to stay theirs).
 */
export function podBody(
  name: string,
  extra: {
    cpu?: string;
    labels?: Record<string, string>;
    generateName?: boolean;
    manual?: boolean;
  } = {},
) {
  return {
    metadata: {
      ...(extra.generateName ? { generateName: name } : { name }),
      ...(extra.labels ? { labels: extra.labels } : {}),
    },
    spec: {
      ...(extra.manual ? { schedulerName: "manual" } : {}),
      containers: [
        {
          name: "main",
          image: "registry.example/compute:1.0",
          ...(extra.cpu ? { resources: { requests: { cpu: extra.cpu } } } : {}),
        },
      ],
    },
  };
}

export interface WatchEvent {
  type: string;
  object: {
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
    [key: string]: unknown;
  };
}

export interface Collector {
  events: WatchEvent[];
  /** Resolves with the error passed to done (null for a clean end). */
  done: Promise<unknown>;
  stop(): void;
  /** Waits until `predicate` holds for the events so far. */
  until(
    what: string,
    predicate: (events: WatchEvent[]) => boolean,
    options?: WaitOptions,
  ): Promise<WatchEvent[]>;
}

/** Starts a client-node Watch and records every event it delivers. */
export async function collect(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean> = {},
): Promise<Collector> {
  const events: WatchEvent[] = [];
  let resolveDone: (error: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => {
    resolveDone = resolve;
  });
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (error) => resolveDone(error),
  );
  return {
    events,
    done,
    stop: () => controller.abort(),
    until: (what, predicate, options) =>
      waitFor(what, () => (predicate(events) ? events : undefined), options),
  };
}

/**
 * A watch over node:http that reports only how the stream ended: "end" (cleanly) or the error
 * code (e.g. "ECONNRESET"). Used where the transport, not client-node, is under test: undici
 * (client-node's HTTP client) on Deno does not report a peer's reset.
 */
export function rawWatch(sim: Simulator, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(`${sim.url}${path}${path.includes("?") ? "&" : "?"}watch=true`);
    req.on("response", (response) => {
      response.resume();
      response.on("end", () => resolve("end"));
      response.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    });
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    req.end();
  });
}

/** The parsed Status body of a client-node ApiException (its body is the raw JSON text). */
export function statusOf(error: unknown): {
  code: number;
  reason?: string;
  message?: string;
  details?: Record<string, unknown>;
} {
  const body = (error as { body?: unknown }).body;
  return typeof body === "string" ? JSON.parse(body) : (body as never);
}

/** Raw HTTP against the simulator, for what client-node cannot express. */
export async function raw(
  sim: Simulator,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the server answered.
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/**
 * How long a test waits for what a controller does (a pod Running, a garbage-collected
 * dependent, a removal): the real control plane's controllers and KWOK take seconds where the
 * simulator takes milliseconds. Only a hung test ever waits this long.
 */
export const POD_RUNNING_TIMEOUT_MS = 60_000;
export const REMOVAL_TIMEOUT_MS = 60_000;
export const CONTROLLER_TIMEOUT_MS = 60_000;

/** The object a read answers, or undefined when the server answers 404. */
export async function found<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/**
 * The ConfigMap the real control plane's root CA publisher puts in every namespace. The
 * simulator publishes none (a known difference, see its README): tests that count a namespace's
 * ConfigMaps leave it out.
 */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

/** Names, without ROOT_CA_CONFIGMAP. */
export function withoutRootCA<T extends string | undefined>(names: T[]): T[] {
  return names.filter((name) => name !== ROOT_CA_CONFIGMAP);
}
