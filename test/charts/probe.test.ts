// The chart's probes against a real sidecar that runs with exactly the environment and files the
// chart gives it: each mount becomes a temporary folder (the templates ConfigMap written out, the
// TLS Secret from fixtures/tls), and the simulated cluster stands in for the API server.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CHART, ROOT } from "./_helm.ts";
import {
  type Container,
  envOf,
  type KubeObject,
  type Probe,
  type Rendered,
  type RenderOptions,
  render,
} from "./_render.ts";

const TLS_FIXTURES = join(import.meta.dirname, "fixtures", "tls");
/** How long a sidecar may take to list its (empty) caches and serve. */
const START_TIMEOUT_MS = 15_000;
const PROBE_KINDS = ["startupProbe", "readinessProbe", "livenessProbe"] as const;

const scratch = mkdtempSync(join(tmpdir(), "hf-chart-probe-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === "object");
  return address.port;
}

interface Pod {
  sidecar: Container;
  /** In-container path → the folder that stands for it here. */
  paths: Map<string, string>;
}

/** Lays out the sidecar's mounts under `dir` as the kubelet would fill them. */
function layOut({ one, deployment, sidecar }: Rendered, dir: string): Pod {
  const paths = new Map<string, string>();
  for (const mount of sidecar.volumeMounts ?? []) {
    const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount.name);
    const folder = join(dir, mount.name);
    mkdirSync(folder, { recursive: true });
    paths.set(mount.mountPath, folder);
    if (volume?.configMap) {
      const configMap = one("ConfigMap", volume.configMap.name) as KubeObject & {
        data: Record<string, string>;
      };
      for (const [file, text] of Object.entries(configMap.data)) {
        writeFileSync(join(folder, file), text);
      }
    } else if (volume?.secret) {
      const items = volume.secret.items ?? [
        { key: "tls.crt", path: "tls.crt" },
        { key: "tls.key", path: "tls.key" },
        { key: "ca.crt", path: "ca.crt" },
      ];
      for (const { key, path } of items) copyFileSync(join(TLS_FIXTURES, key), join(folder, path));
    }
  }
  return { sidecar, paths };
}

function local(pod: Pod, text: string): string {
  let result = text;
  for (const [mountPath, folder] of pod.paths) result = result.replaceAll(mountPath, folder);
  return result;
}

/** Runs the sidecar as the container would, against the simulated cluster. */
function startSidecar(pod: Pod): ChildProcess {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOSTFACTORY_SIMULATE: "true" };
  for (const [name, value] of envOf(pod.sidecar)) env[name] = local(pod, value);
  // The simulated cluster has the namespace "default" only.
  env.HOSTFACTORY_NAMESPACE = "default";
  const child = spawn(process.execPath, ["sidecar/main.ts"], { cwd: ROOT, env, stdio: "pipe" });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  child.on("exit", (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`sidecar exited ${code}:\n${output}`);
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/**
 * Runs a probe here as the kubelet would in the container (cwd /app). A native grpc probe is a
 * plaintext grpc.health.v1 Check on the Pod's port: the chart's probe script does the same.
 */
function runProbe(pod: Pod, probe: Probe | undefined): { status: number | null; stderr: string } {
  let args: string[];
  if (probe?.grpc) {
    const script = readFileSync(join(CHART, "files", "grpc-health-probe.mjs"), "utf8");
    const { port, service = "" } = probe.grpc;
    args = ["--input-type=module", "--eval", script, `127.0.0.1:${port}`, service];
  } else {
    const [command, ...rest] = probe?.exec?.command ?? [];
    assert.equal(command, "node");
    args = rest.map((arg) => local(pod, arg));
  }
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: (probe?.timeoutSeconds ?? 1) * 1000,
  });
  return { status: result.status, stderr: result.stderr };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

/** Renders `options`, starts the sidecar the chart describes, and checks its probes. */
function probeScenario(name: string, options: () => Promise<RenderOptions>) {
  describe(name, () => {
    let pod: Pod;
    let sidecar: ChildProcess | undefined;
    after(async () => {
      if (sidecar) await stop(sidecar);
    });

    test("the probes fail while no sidecar serves", async () => {
      const dir = join(scratch, name);
      pod = layOut(render(await options()), dir);
      const result = runProbe(pod, pod.sidecar.livenessProbe);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /health check of '' at .* failed/);
    });

    test("every probe passes once the sidecar started with the chart's configuration serves", async () => {
      sidecar = startSidecar(pod);
      const running = sidecar;
      await until("the startup probe passes", () => {
        assert.equal(running.exitCode, null, "the sidecar exited");
        return runProbe(pod, pod.sidecar.startupProbe).status === 0;
      });
      for (const kind of PROBE_KINDS) {
        const result = runProbe(pod, pod.sidecar[kind]);
        assert.equal(result.status, 0, `${kind}: ${result.stderr}`);
      }
    });

    if (name === "beside-hostfactory") {
      test("the socket lets the Pod's group connect", () => {
        const listen = local(pod, envOf(pod.sidecar).get("HOSTFACTORY_LISTEN") ?? "");
        assert.equal(statSync(listen.slice("unix://".length)).mode & 0o777, 0o660);
      });
    }
  });
}

const onFreePort = async (options: RenderOptions): Promise<RenderOptions> => ({
  ...options,
  set: { grpc: { ...(options.set?.grpc ?? {}), port: await freePort(), bindAddress: "127.0.0.1" } },
});

probeScenario("tls", () => onFreePort({ valueSet: "tls" }));
probeScenario("default", () => onFreePort({ valueSet: "default" }));
probeScenario("plain TCP", () => onFreePort({ set: { grpc: { insecure: true } } }));
probeScenario("beside-hostfactory", async () => ({ valueSet: "beside-hostfactory" }));
