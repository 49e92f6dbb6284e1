// One provider under test: the API simulator and the sidecar, each in a child process, a gRPC
// client to the sidecar, and HostFactory's side (the real scripts) run as HostFactory runs them.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import type { RequestOf, ResponseOf, UnaryMethod } from "../client/connect.ts";
import {
  MachineResult,
  ProviderServiceService,
  RequestStatus,
} from "../proto/gen/hostfactory/v1/provider.ts";
import { runProcess } from "../test/tools/run-process.ts";
import { type ChildHandle, forkChild } from "./_ipc.ts";
import type { handlers as SidecarHandlers } from "./_sidecar-process.ts";
import type { handlers as SimulatorHandlers } from "./_simulator-process.ts";

const BENCH = import.meta.dirname;
const ROOT = join(BENCH, "..");
export const TEMPLATES = join(BENCH, "templates.json");
export const TEMPLATE_ID = "bench-compute";
/** Room for 16,000 pods of the bench template. */
const NODES = ["node-1", "node-2", "node-3", "node-4"].map((name) => ({
  name,
  cpu: "64",
  memory: "256Gi",
  pods: 4_000,
}));
/** Every pod event of the largest benchmark, so no watch ever needs a relist. */
const HISTORY_WINDOW = 100_000;
/** Longer than any benchmark's wait (5,000 pods at 200 QPS take 25 s). */
const WAIT_TIMEOUT_MS = 300_000;
/** The largest answer the sidecar sends (its own limit). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ClusterOptions {
  /** A scratch directory of its own. */
  dir: string;
  /** Simulated API latency per request. */
  latencyMs: number;
  /** The sidecar's API rate limit. */
  qps: number;
  burst: number;
  /** Node.js flags for the sidecar's process; default none, as the container image runs it. */
  sidecarFlags?: string[];
}

export interface Cluster {
  readonly instance: string;
  readonly address: string;
  readonly simulator: ChildHandle<typeof SimulatorHandlers>;
  readonly sidecar: ChildHandle<typeof SidecarHandlers>;
  call<M extends UnaryMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>>;
  requestMachines(count: number): Promise<string>;
  /** Polls every `intervalMs` until every machine of `requestIds` succeeded; fails after
   * {@link WAIT_TIMEOUT_MS} or when the simulator or the sidecar is gone. */
  waitSucceeded(requestIds: string[], intervalMs?: number): Promise<void>;
  /** Writes `input` to a fresh file for a script's -f. */
  inputFile(name: string, input: unknown): string;
  /** Runs scripts/<operation>.sh -f <file> as HostFactory does, and checks it succeeded. */
  script(operation: string, file: string): Promise<TimedRun>;
  stop(): Promise<void>;
}

export interface TimedRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with stdout and stderr piped (as HostFactory reads them), timing it. */
export async function runTimed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<TimedRun> {
  const started = performance.now();
  const result = await runProcess(command, args, { env });
  return { ms: performance.now() - started, ...result };
}

/** The environment HostFactory gives a script, without whatever the caller's shell set. */
function scriptEnvironment(address: string, workdir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(HF_|HOSTFACTORY_|NODE_COMPILE_CACHE$|NODE_OPTIONS$)/.test(key)) env[key] = value;
  }
  return {
    ...env,
    HF_PROVIDER_WORKDIR: workdir,
    HOSTFACTORY_ADDRESS: address,
    HOSTFACTORY_NODE: process.execPath,
  };
}

let clusters = 0;

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const instance = `bench-${process.pid}-${++clusters}`;
  mkdirSync(options.dir, { recursive: true });
  const simulator = await forkChild<typeof SimulatorHandlers>(
    join(BENCH, "_simulator-process.ts"),
    [
      JSON.stringify({
        podStartDelayMs: 0,
        podStartJitterMs: 0,
        recordEvents: false,
        historyWindow: HISTORY_WINDOW,
        nodes: NODES,
        seed: 6,
        kubeconfig: join(options.dir, "kubeconfig"),
      }),
    ],
  );
  await simulator.call("latency", { delayMs: options.latencyMs });
  const { kubeconfig } = simulator.ready as { kubeconfig: string };
  const provider = await startProvider({
    ...options,
    instance,
    kubeconfig,
    namespace: "default",
    gone: () => simulator.exited,
  }).catch(async (error) => {
    await simulator.stop();
    throw error;
  });
  return {
    ...provider,
    simulator,
    async stop() {
      await provider.stop();
      await simulator.stop();
    },
  };
}

/** The sidecar, a gRPC client to it and HostFactory's side, against any API server. */
export type Provider = Omit<Cluster, "simulator">;

export interface ProviderOptions {
  dir: string;
  instance: string;
  kubeconfig: string;
  namespace: string;
  qps: number;
  burst: number;
  /** Default: the sidecar's own (32). */
  maxInFlight?: number;
  sidecarFlags?: string[];
  /** Says why waiting is pointless (the API server's process is gone), or undefined. */
  gone?: () => string | undefined;
}

export async function startProvider(options: ProviderOptions): Promise<Provider> {
  const { instance } = options;
  mkdirSync(options.dir, { recursive: true });
  const sidecar = await forkChild<typeof SidecarHandlers>(
    join(BENCH, "_sidecar-process.ts"),
    [
      JSON.stringify({
        kubeconfig: options.kubeconfig,
        namespace: options.namespace,
        flags: {
          listen: `unix://${join(options.dir, "sidecar.sock")}`,
          templates: TEMPLATES,
          instance,
          qps: String(options.qps),
          burst: String(options.burst),
          ...(options.maxInFlight ? { "max-in-flight": String(options.maxInFlight) } : {}),
        },
      }),
    ],
    ["--expose-gc", ...(options.sidecarFlags ?? [])],
  );
  const { address } = sidecar.ready as { address: string };
  const client = new Client(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  const env = scriptEnvironment(address, join(options.dir, "work"));
  let inputs = 0;

  const call = <M extends UnaryMethod>(method: M, request: RequestOf<M>) =>
    new Promise<ResponseOf<M>>((resolve, reject) => {
      const definition = ProviderServiceService[method];
      client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize as (value: RequestOf<M>) => Buffer,
        definition.responseDeserialize as (value: Buffer) => ResponseOf<M>,
        request,
        new Metadata(),
        (error, response) => (error || !response ? reject(error) : resolve(response)),
      );
    });

  const provider: Provider = {
    instance,
    address,
    sidecar,
    call,
    async requestMachines(count) {
      const answer = await call("requestMachines", {
        templateId: TEMPLATE_ID,
        machineCount: count,
        rcAccount: "",
      });
      return answer.requestId;
    },
    async waitSucceeded(requestIds, intervalMs = 100) {
      const deadline = performance.now() + WAIT_TIMEOUT_MS;
      for (;;) {
        const gone = options.gone?.() ?? sidecar.exited;
        if (gone) throw new Error(`${gone} while waiting for machines`);
        if (performance.now() > deadline) {
          throw new Error(
            `machines of ${requestIds.length} requests not all up after ${WAIT_TIMEOUT_MS} ms`,
          );
        }
        const { requests } = await call("getRequestStatus", { requestIds });
        const done = requests.every(
          (request) =>
            request.status === RequestStatus.REQUEST_STATUS_COMPLETE &&
            request.machines.every((m) => m.result === MachineResult.MACHINE_RESULT_SUCCEED),
        );
        if (done) return;
        if (requests.some((r) => r.status === RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR)) {
          throw new Error(`a request failed: ${requests.map((r) => r.message).join("; ")}`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    inputFile(name, input) {
      const file = join(options.dir, `${name}-${++inputs}.json`);
      writeFileSync(file, JSON.stringify(input));
      return file;
    },
    async script(operation, file) {
      const run = await runTimed("sh", [join(ROOT, "scripts", `${operation}.sh`), "-f", file], env);
      if (run.code !== 0) {
        throw new Error(`${operation}.sh exited ${run.code}: ${run.stdout}${run.stderr}`);
      }
      JSON.parse(run.stdout);
      return run;
    },
    async stop() {
      client.close();
      await sidecar.stop();
    },
  };
  return provider;
}
