// The chart's probes and metrics port against a real sidecar that runs with exactly the
// environment and files the chart gives it: each mount becomes a temporary folder (the templates
// ConfigMap written out, the TLS Secret from fixtures/tls), and the simulated cluster stands in
// for the API server.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  HealthClient,
  healthCheckResponse_ServingStatusToJSON,
} from "../../proto/gen/grpc/health/v1/health.ts";
import { waitFor } from "../tools/wait-for.ts";
import { helmUnavailable, ROOT } from "./_helm.ts";
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
/**
 * Only stops a hung test: a sidecar starting on a machine shared with builds and other test runs
 * can take many seconds to load, and how long it takes is not what these tests judge.
 */
const START_TIMEOUT_MS = 60_000;
const PROBE_KINDS = ["startupProbe", "readinessProbe", "livenessProbe"] as const;

const scratch = mkdtempSync(join(tmpdir(), "hf-chart-probe-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `count` distinct ports that are free on this host at the time of asking. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve) =>
          server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            assert.ok(address && typeof address === "object");
            resolve(address.port);
          }),
        ),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
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
 * Runs a probe as the kubelet runs a native grpc probe: a plain-text grpc.health.v1 Check on the
 * probe's port of `host` (the Pod's IP there; here the loopback address the sidecar is bound to),
 * within the probe's timeout. Resolves with the status, or the error that stood in its way.
 */
async function runProbe(host: string, probe: Probe | undefined): Promise<string> {
  assert.ok(probe?.grpc, "a native grpc probe");
  const { port, service = "" } = probe.grpc;
  const client = new HealthClient(`${host}:${port}`, grpc.credentials.createInsecure());
  const deadline = Date.now() + (probe.timeoutSeconds ?? 1) * 1000;
  try {
    return await new Promise((resolve) =>
      client.check({ service }, new grpc.Metadata(), { deadline }, (error, response) =>
        resolve(
          error
            ? `error: ${error.message}`
            : healthCheckResponse_ServingStatusToJSON(response.status),
        ),
      ),
    );
  } finally {
    client.close();
  }
}

/** Renders `options` on free loopback ports, starts the sidecar the chart describes, checks it. */
function probeScenario(name: string, loopback: string, options: RenderOptions) {
  describe(name, { skip: helmUnavailable() }, () => {
    let pod: Pod;
    let sidecar: ChildProcess | undefined;
    after(async () => {
      if (sidecar) await stop(sidecar);
    });

    test("the probes fail while no sidecar serves", async () => {
      const [grpcPort, healthPort, metricsPort] = await freePorts(3);
      const set = {
        ...options.set,
        bindAddress: loopback,
        grpc: { ...(options.set?.grpc ?? {}), port: grpcPort },
        probes: { port: healthPort },
        metrics: { port: metricsPort },
      };
      pod = layOut(render({ ...options, set }), join(scratch, name));
      assert.match(await runProbe(loopback, pod.sidecar.livenessProbe), /^error: 14 UNAVAILABLE/);
    });

    test("every probe passes once the sidecar started with the chart's configuration serves", async () => {
      sidecar = startSidecar(pod);
      const running = sidecar;
      await waitFor(
        "the startup probe to pass",
        async () => {
          assert.equal(running.exitCode, null, "the sidecar exited");
          return (await runProbe(loopback, pod.sidecar.startupProbe)) === "SERVING";
        },
        { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
      );
      for (const kind of PROBE_KINDS) {
        assert.equal(await runProbe(loopback, pod.sidecar[kind]), "SERVING", kind);
      }
    });

    test("Prometheus can scrape the metrics port at /metrics", async () => {
      const port = pod.sidecar.ports?.find((p) => p.name === "metrics")?.containerPort;
      const response = await fetch(`http://${loopback}:${port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(await response.text(), /^hostfactory_cache_objects\{cache="pods"\} 0$/m);
    });

    if (name.startsWith("beside-hostfactory")) {
      test("the socket lets the Pod's group connect", () => {
        const listen = local(pod, envOf(pod.sidecar).get("HOSTFACTORY_LISTEN") ?? "");
        assert.equal(statSync(listen.slice("unix://".length)).mode & 0o777, 0o660);
      });
    }
  });
}

probeScenario("tls", "127.0.0.1", { valueSet: "tls" });
probeScenario("default", "127.0.0.1", { valueSet: "default" });
probeScenario("plain TCP", "127.0.0.1", { set: { grpc: { insecure: true } } });
// IPv6 too: the metrics server takes its address in another form than the gRPC servers.
probeScenario("beside-hostfactory, on IPv6", "[::1]", { valueSet: "beside-hostfactory" });
