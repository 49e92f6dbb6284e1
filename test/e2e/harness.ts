// End-to-end harness: a simulated cluster, a real sidecar (in this process, or as a child
// process when a test must kill it), and HostFactory's side played through the real scripts.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { KubeConfig } from "@kubernetes/client-node";
import { protoPath as healthProto } from "grpc-health-check";
import { pino } from "pino";
import { type Sidecar, startSidecar } from "../../sidecar/app.ts";
import { loadConfig } from "../../sidecar/config.ts";
import { LABEL_INSTANCE } from "../../sidecar/provider/model.ts";
import {
  createSimulator,
  type Simulator,
  type SimulatorOptions,
} from "../../sidecar/simulator/index.ts";
import { type ProcessResult, runProcess } from "../tools/run-process.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const SIDECAR_MAIN = join(ROOT, "sidecar", "main.ts");
export const TEST_TEMPLATES = join(ROOT, "test", "fixtures", "templates", "templates.json");
export const INSTANCE = "e2e";

export interface ScriptResult extends ProcessResult {
  /** stdout parsed; undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

export interface Harness {
  readonly simulator: Simulator;
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly address: string;
  readonly sidecar: Sidecar | undefined;
  /** Runs scripts/<operation>.sh -f <file holding input> (raw text when input is a string). */
  script(operation: string, input: unknown, env?: NodeJS.ProcessEnv): Promise<ScriptResult>;
  /** Pods of our instance in the simulator's store (ground truth). */
  pods(): { name: string; phase: string; deleting: boolean; labels: Record<string, string> }[];
  /** ConfigMaps in the simulator's store. */
  configMapCount(): number;
  /**
   * Starts a sidecar as a child process (for tests that kill it), on `listen` (default: the
   * harness's address), with short Lease timings; `args` add to or override the defaults.
   */
  spawnSidecar(args?: string[], listen?: string): ChildProcess;
  /** Starts (again) the in-process sidecar. */
  startSidecar(flags?: Record<string, unknown>): Promise<Sidecar>;
  stopSidecar(): Promise<void>;
  close(): Promise<void>;
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
  const address = `unix://${join(dir, "sidecar.sock")}`;
  let sidecar: Sidecar | undefined;
  const children = new Set<ChildProcess>();
  const templates = options.templates ?? TEST_TEMPLATES;
  let inputs = 0;

  const harness: Harness = {
    simulator,
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
      kubeConfig.loadFromString(simulator.kubeconfigYaml);
      sidecar = await startSidecar(
        { ...config, templates: config.templates ?? templates, namespace: "default" },
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
    spawnSidecar(args = [], listen = address) {
      const child = spawn(
        process.execPath,
        [
          SIDECAR_MAIN,
          ...["--kubeconfig", kubeconfigPath, "--listen", listen, "--templates", templates],
          ...["--instance", INSTANCE, "--namespace", "default", "--log-level", "warn"],
          ...["--lease-duration", "2", "--renew-deadline", "1.5", "--retry-period", "0.5"],
          ...args,
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      children.add(child);
      child.on("exit", () => children.delete(child));
      return child;
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
      for (const child of children) child.kill("SIGKILL");
      await sidecar?.stop();
      await simulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

/** Polls `probe` until it returns a value other than undefined or false. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    last = value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

type HealthClient = grpc.Client & {
  check(
    request: object,
    callback: (error: Error | null, response: { status: string }) => void,
  ): void;
};

/** Asks grpc.health.v1 at `address` (plain text) for `service`'s status: "SERVING", … */
export async function healthStatus(address: string, service: string): Promise<string> {
  const definition = grpc.loadPackageDefinition(
    loadSync(healthProto, { enums: String }),
  ) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const Health = definition.grpc.health.v1.Health;
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as HealthClient;
  try {
    return await new Promise<string>((resolve, reject) =>
      client.check({ service }, (error, response) =>
        error ? reject(error) : resolve(response.status),
      ),
    );
  } finally {
    client.close();
  }
}
