// End-to-end harness: a simulated cluster, a real sidecar (in this process, or as a child
// process when a test must kill it), and HostFactory's side played through the real scripts.
// The sidecar driver is shared with the harness on the real control plane
// (control-plane-harness.ts).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import {
  HealthClient,
  healthCheckResponse_ServingStatusToJSON,
} from "../../proto/gen/grpc/health/v1/health.ts";
import { type Sidecar, startSidecar } from "../../sidecar/app.ts";
import { loadConfig } from "../../sidecar/config.ts";
import { LABEL_INSTANCE } from "../../sidecar/provider/model.ts";
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
} from "../../sidecar/simulator/index.ts";
import { type ProcessResult, runProcess } from "../tools/run-process.ts";
import { type WaitOptions, waitFor } from "../tools/wait-for.ts";
import { createGroundTruth, type GroundTruth } from "./ground-truth.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SIDECAR_MAIN = join(ROOT, "sidecar", "main.ts");
export const TEST_TEMPLATES = join(ROOT, "test", "fixtures", "templates", "templates.json");
export const INSTANCE = "e2e";

export interface ScriptResult extends ProcessResult {
  /** stdout parsed; undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

/** Drives sidecars against one cluster and plays HostFactory through the real scripts. */
export interface SidecarDriver {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly address: string;
  readonly sidecar: Sidecar | undefined;
  /** Runs scripts/<operation>.sh -f <file holding input> (raw text when input is a string). */
  script(operation: string, input: unknown, env?: NodeJS.ProcessEnv): Promise<ScriptResult>;
  /**
   * Starts a sidecar as a child process (for tests that kill it), on `listen` (default: the
   * harness's address), with short Lease timings; `args` add to or override the defaults, `env`
   * adds to this process's environment (POD_NAME names the replica on the Lease).
   */
  spawnSidecar(args?: string[], listen?: string, env?: NodeJS.ProcessEnv): ChildProcess;
  /** Waits until the sidecar at `address` (default: the harness's) answers the scripts. */
  serving(address?: string, options?: WaitOptions): Promise<void>;
  /**
   * Starts a second replica as a child process, on `<name>.sock` in the scratch directory, and
   * waits until it serves; returns its address.
   */
  startReplica(name?: string): Promise<string>;
  /** Starts (again) the in-process sidecar. */
  startSidecar(flags?: Record<string, unknown>): Promise<Sidecar>;
  stopSidecar(): Promise<void>;
}

/** What a suite that runs on either backend may use: sidecars, scripts and the API's truth. */
export interface E2eHarness extends SidecarDriver {
  /** The cluster's own answers, read through the Kubernetes API. */
  readonly truth: GroundTruth;
  close(): Promise<void>;
}

export interface Harness extends E2eHarness {
  readonly simulator: Simulator;
  /** Pods of our instance in the simulator's store (ground truth). */
  pods(): { name: string; phase: string; deleting: boolean; labels: Record<string, string> }[];
  /** ConfigMaps in the simulator's store. */
  configMapCount(): number;
}

export interface SidecarDriverOptions {
  /** Scratch directory: the socket and the scripts' input files go there. */
  dir: string;
  kubeconfigPath: string;
  /** The namespace the sidecars work in. */
  namespace: string;
  /** The templates file (default: test/fixtures/templates/templates.json). */
  templates?: string;
  /** Flags of every in-process sidecar, before those `startSidecar` is given. */
  flags?: Record<string, unknown>;
  /** Collects the in-process sidecar's JSON log lines (parsed) here, at debug level. */
  logs?: Record<string, unknown>[];
}

/** The part of a harness that does not depend on which cluster it runs against. */
export function createSidecarDriver(
  options: SidecarDriverOptions,
): SidecarDriver & { close(): Promise<void> } {
  const { dir, kubeconfigPath, namespace } = options;
  const address = `unix://${join(dir, "sidecar.sock")}`;
  const templates = options.templates ?? TEST_TEMPLATES;
  const children = new Set<ChildProcess>();
  let sidecar: Sidecar | undefined;
  let inputs = 0;
  const driver: SidecarDriver & { close(): Promise<void> } = {
    dir,
    kubeconfigPath,
    address,
    get sidecar() {
      return sidecar;
    },
    async startSidecar(flags = {}) {
      const config = loadConfig(
        {
          listen: address,
          templates,
          instance: INSTANCE,
          "lease-duration": "3",
          "renew-deadline": "2",
          "retry-period": "0.5",
          ...options.flags,
          ...flags,
        },
        {},
      );
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfigPath);
      sidecar = await startSidecar(
        { ...config, templates: config.templates ?? templates, namespace },
        kubeConfig,
        options.logs
          ? pino(
              { level: "debug" },
              { write: (line: string) => options.logs?.push(JSON.parse(line)) },
            )
          : pino({ level: process.env.HOSTFACTORY_TEST_LOG ?? "silent" }),
      );
      return sidecar;
    },
    spawnSidecar(args = [], listen = address, env = {}) {
      const child = spawn(
        process.execPath,
        [
          SIDECAR_MAIN,
          ...["--kubeconfig", kubeconfigPath, "--listen", listen, "--templates", templates],
          ...["--instance", INSTANCE, "--namespace", namespace, "--log-level", "warn"],
          ...["--lease-duration", "2", "--renew-deadline", "1.5", "--retry-period", "0.5"],
          ...args,
        ],
        { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env } },
      );
      children.add(child);
      child.on("exit", () => children.delete(child));
      return child;
    },
    async serving(listen = address, wait = {}) {
      await waitFor(
        `the sidecar at ${listen} to serve`,
        async () =>
          (await driver.script("getAvailableTemplates", {}, { HOSTFACTORY_ADDRESS: listen }))
            .code === 0,
        wait,
      );
    },
    async startReplica(name = "replica-b") {
      const listen = `unix://${join(dir, `${name}.sock`)}`;
      driver.spawnSidecar([], listen);
      await driver.serving(listen);
      return listen;
    },
    async stopSidecar() {
      await sidecar?.stop();
      sidecar = undefined;
    },
    script(operation, input, env = {}) {
      const file = join(dir, `input-${inputs++}.json`);
      writeFileSync(file, typeof input === "string" ? input : JSON.stringify(input));
      return runScript(operation, ["-f", file], { HOSTFACTORY_ADDRESS: address, ...env });
    },
    async close() {
      for (const child of children) child.kill("SIGKILL");
      await sidecar?.stop();
      sidecar = undefined;
    },
  };
  return driver;
}

export async function startHarness(
  options: {
    flags?: Record<string, unknown>;
    sidecar?: boolean;
    simulator?: SimulatorOptions;
    /** The templates file (default: test/fixtures/templates/templates.json). */
    templates?: string;
    /** Collects the in-process sidecar's JSON log lines (parsed) here, at debug level. */
    logs?: Record<string, unknown>[];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-e2e-"));
  // Pods take long enough to start that a poll right after a request sees it running.
  const simulator = await createSimulator({
    podStartDelayMs: 400,
    podStartJitterMs: 100,
    podStopDelayMs: 20,
    ...options.simulator,
  });
  const kubeconfigPath = await simulator.writeKubeconfig(join(dir, "kubeconfig"));
  const driver = createSidecarDriver({ ...options, dir, kubeconfigPath, namespace: "default" });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(simulator.kubeconfigYaml);
  const stopSidecars = driver.close;
  const harness: Harness = Object.assign(driver, {
    simulator,
    truth: createGroundTruth(kubeConfig, "default", INSTANCE),
    pods() {
      return simulator.store
        .list("pods", "default")
        .filter((pod) => pod.metadata.labels?.[LABEL_INSTANCE] === INSTANCE)
        .map((pod) => ({
          name: String(pod.metadata.name),
          phase: String((pod as { status?: { phase?: string } }).status?.phase ?? ""),
          deleting: pod.metadata.deletionTimestamp !== undefined,
          labels: pod.metadata.labels ?? {},
        }));
    },
    configMapCount: () => simulator.store.count("configmaps", "default"),
    async close() {
      await stopSidecars();
      await simulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  if (options.sidecar !== false) await harness.startSidecar();
  return harness;
}

/** Runs one of the real HostFactory scripts, with this test's Node as the client's runtime. */
export async function runScript(
  operation: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ScriptResult> {
  const result = await runProcess("sh", [join(ROOT, "scripts", `${operation}.sh`), ...args], {
    env: { ...process.env, HOSTFACTORY_NODE: process.execPath, ...env },
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { ...result, json };
}

/** Asks grpc.health.v1 at `address` (plain text) for `service`'s status: "SERVING", … */
export async function healthStatus(address: string, service: string): Promise<string> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      client.check({ service }, (error, response) =>
        error ? reject(error) : resolve(healthCheckResponse_ServingStatusToJSON(response.status)),
      ),
    );
  } finally {
    client.close();
  }
}
