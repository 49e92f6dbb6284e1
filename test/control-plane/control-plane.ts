// A real Kubernetes control plane on 127.0.0.1 run by this process: etcd, kube-apiserver (RBAC and
// certificate authentication), kube-scheduler, kube-controller-manager and KWOK playing the
// kubelets of fake nodes. Every process runs under a guard (_guard.ts) that kills it when this
// process goes away, so nothing outlives a test run, however it ends.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../tools/wait-for.ts";
import { createPki, kubeconfigYaml, writeKubeconfig } from "./_certificates.ts";
import { type ClusterApi, createClusterApi, type NodeSpec, READY_WAIT } from "./_cluster-api.ts";
import { type Component, commandLine, type Layout } from "./_components.ts";
import { type BinaryPaths, ensureBinaries } from "./binaries.ts";

/** Lines of a component's log quoted in an error about it. */
const LOG_TAIL_LINES = 30;
const DEFAULT_NODE_COUNT = 3;
/** Kubernetes' 50 s would make every node-loss test wait a minute. */
const DEFAULT_NODE_MONITOR_GRACE_PERIOD_SECONDS = 10;
const NODE_MONITOR_PERIOD_SECONDS = 1;
/** KWOK renews each node's Lease every quarter of this, well inside the grace period. */
const NODE_LEASE_DURATION_SECONDS = 8;
/** Kubernetes' own default for DefaultTolerationSeconds. */
const DEFAULT_TOLERATION_SECONDS = 300;
const HEALTH_REQUEST_TIMEOUT_MS = 5_000;

/** The components a test may kill, restart and start. */
export type ControlPlaneComponent = Component;

export interface ControlPlaneOptions {
  /** Nodes made before startControlPlane resolves (default: 3 × 8 cpu, 32Gi, 110 pods). */
  nodes?: NodeSpec[];
  /** Seconds a silent node stays Ready (node-monitor-grace-period; default 10, Kubernetes' 50). */
  nodeMonitorGracePeriodSeconds?: number;
  /**
   * Seconds pods tolerate a NotReady or unreachable node before the taint eviction controller
   * evicts them, as the DefaultTolerationSeconds admission gives it (default 300, as Kubernetes).
   */
  tolerationSeconds?: number;
  /** Binaries to run (default: found or built by ensureBinaries). */
  binaries?: BinaryPaths;
  /** Receives progress lines while booting (default: nothing is said). */
  log?: (line: string) => void;
}

export interface ControlPlane extends ClusterApi {
  /** The admin's kubeconfig (client certificate in system:masters). */
  readonly kubeconfigPath: string;
  readonly kubeconfigYaml: string;
  /** The folder holding certificates, kubeconfigs, etcd's data and each component's log. */
  readonly dir: string;
  /** Kills the component and starts it again, resolving once it serves. */
  restart(component: ControlPlaneComponent): Promise<void>;
  /** SIGKILLs the component. */
  kill(component: ControlPlaneComponent): Promise<void>;
  /** Starts a killed component again; resolves once it serves (etcd, kube-apiserver). */
  start(component: ControlPlaneComponent): Promise<void>;
  /**
   * Once kube-apiserver is ready, restarts KWOK so that it lists every pod on its nodes again. A
   * kubelet retries a pod status update until it lands and resyncs its pods; KWOK (v0.8) drops a
   * stage whose patch failed with anything but a refused connection or a timeout, such as the
   * error of an API server whose etcd just died, and that pod would stay Pending for good.
   */
  resyncKubelets(): Promise<void>;
  /** Kills every component and removes the folder. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no free port")),
      );
    });
  });
}

/** GET to 127.0.0.1 over HTTP or HTTPS; status 0 when nothing answers. */
function get(
  url: string,
  tls?: { ca: string; cert: string; key: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = (tls ? httpsRequest : httpRequest)(
      url,
      { ...tls, timeout: HEALTH_REQUEST_TIMEOUT_MS },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        response.on("error", () => resolve({ status: 0, body }));
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve({ status: 0, body: "" }));
    request.end();
  });
}

interface Running {
  process: ChildProcess;
  exited: Promise<void>;
  expectedExit: boolean;
}

/** Boots a control plane; resolves once the API serves, controllers run and the nodes are Ready. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binaries = options.binaries ?? (await ensureBinaries({ log }));
  const dir = mkdtempSync(join(tmpdir(), "hostfactory-k8s-control-plane-"));
  const logs = join(dir, "logs");
  mkdirSync(logs);
  mkdirSync(join(dir, "pki"));
  const pki = createPki(join(dir, "pki"));

  const [etcdClientPort, etcdPeerPort, apiserverPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const server = `https://127.0.0.1:${apiserverPort}`;
  const clientKubeconfig = (name: string, commonName: string, organization?: string) => {
    const keys = pki.client(name, { commonName, organization });
    const yaml = kubeconfigYaml({
      server,
      caCert: pki.ca.cert,
      user: commonName,
      clientCert: keys.cert,
      clientKey: keys.key,
    });
    const path = join(dir, `${name}.kubeconfig`);
    writeKubeconfig(path, yaml);
    return { path, yaml, keys };
  };
  const admin = clientKubeconfig("admin", "hostfactory-k8s-admin", "system:masters");
  const layout: Layout = {
    dir,
    binaries,
    etcdClientPort,
    etcdPeerPort,
    apiserverPort,
    files: {
      caCert: pki.ca.certFile,
      caKey: pki.ca.keyFile,
      servingCert: pki.serving.certFile,
      servingKey: pki.serving.keyFile,
      serviceAccountKey: pki.serviceAccountKeyFile,
      serviceAccountPublicKey: pki.serviceAccountPublicKeyFile,
      controllerManagerKubeconfig: clientKubeconfig(
        "kube-controller-manager",
        "system:kube-controller-manager",
      ).path,
      schedulerKubeconfig: clientKubeconfig("kube-scheduler", "system:kube-scheduler").path,
      // KWOK writes node and pod status and leases and deletes pods: every kubelet's rights at once.
      kwokKubeconfig: clientKubeconfig("kwok", "kwok", "system:masters").path,
    },
    timings: {
      nodeMonitorGracePeriodSeconds:
        options.nodeMonitorGracePeriodSeconds ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_SECONDS,
      nodeMonitorPeriodSeconds: NODE_MONITOR_PERIOD_SECONDS,
      nodeLeaseDurationSeconds: NODE_LEASE_DURATION_SECONDS,
      tolerationSeconds: options.tolerationSeconds ?? DEFAULT_TOLERATION_SECONDS,
    },
  };
  const adminTls = { ca: pki.ca.cert, cert: admin.keys.cert, key: admin.keys.key };
  const running = new Map<Component, Running>();
  const guard = join(import.meta.dirname, "_guard.ts");

  const logTail = (component: Component) => {
    try {
      const lines = readFileSync(join(logs, `${component}.log`), "utf8")
        .trimEnd()
        .split("\n");
      return lines.slice(-LOG_TAIL_LINES).join("\n");
    } catch {
      return "(no log)";
    }
  };
  /** Says, for an error, that the component died and how its log ends. */
  const explain = (component: Component) =>
    running.has(component)
      ? ""
      : `; ${component} is not running, its log (${logs}) ends:\n${logTail(component)}`;

  const spawnComponent = (component: Component) => {
    const [binary, args] = commandLine(component, layout);
    const out = openSync(join(logs, `${component}.log`), "a");
    const child = spawn(process.execPath, [guard, binary, ...args], {
      stdio: ["pipe", out, out],
      env: { ...process.env, HOME: dir },
    });
    closeSync(out);
    // Neither the guard nor its pipe keeps this process alive: when this process exits, the pipe
    // closes and the guard kills the component.
    child.unref();
    (child.stdin as unknown as { unref(): void }).unref();
    const entry: Running = {
      process: child,
      expectedExit: false,
      exited: new Promise((resolve) => child.on("exit", () => resolve())),
    };
    entry.exited.then(() => {
      if (running.get(component) === entry) running.delete(component);
      if (!entry.expectedExit) log(`${component} exited; its log is in ${logs}`);
    });
    running.set(component, entry);
  };

  const waitServing = async (component: Component) => {
    if (component === "etcd") {
      await waitFor(
        () => `etcd to become healthy on 127.0.0.1:${etcdClientPort}${explain(component)}`,
        async () => {
          if (!running.has(component)) throw new Error("etcd exited");
          const { status, body } = await get(`http://127.0.0.1:${etcdClientPort}/health`);
          return status === 200 && body.includes('"true"') ? true : undefined;
        },
        READY_WAIT,
      );
    } else if (component === "kube-apiserver") {
      await waitFor(
        () => `kube-apiserver to become ready at ${server}/readyz${explain(component)}`,
        async () => {
          if (!running.has(component)) throw new Error("kube-apiserver exited");
          const { status } = await get(`${server}/readyz`, adminTls);
          return status === 200 ? true : undefined;
        },
        READY_WAIT,
      );
    }
  };

  const kill = async (component: Component) => {
    const entry = running.get(component);
    if (!entry) return;
    entry.expectedExit = true;
    // Waiting on an unref'd child would let this process exit before the component is gone.
    entry.process.ref();
    entry.process.stdin?.end();
    await entry.exited;
  };

  const start = async (component: Component) => {
    if (running.has(component)) throw new Error(`${component} is already running`);
    spawnComponent(component);
    await waitServing(component);
  };

  // The processes die with this one (their guards' pipes close); a forgotten stop() would still
  // leave the folder behind.
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", removeDir);
  const stop = async () => {
    await Promise.all([...running.keys()].map(kill));
    process.off("exit", removeDir);
    removeDir();
  };

  const api = createClusterApi({
    server,
    adminKubeconfig: admin.yaml,
    caCert: pki.ca.cert,
    explain,
  });

  try {
    log(`control plane in ${dir}`);
    await start("etcd");
    await start("kube-apiserver");
    log(`kube-apiserver ready at ${server}`);
    for (const component of ["kube-controller-manager", "kube-scheduler", "kwok"] as const) {
      spawnComponent(component);
    }
    // The default ServiceAccount proves the controller manager runs with working credentials.
    await api.waitForServiceAccount("default");
    const specs = options.nodes ?? Array.from({ length: DEFAULT_NODE_COUNT }, () => ({}));
    await Promise.all(
      specs.map((spec, index) => api.addNode({ name: `kwok-node-${index}`, ...spec })),
    );
    log(`${specs.length} nodes Ready`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    ...api,
    kubeconfigPath: admin.path,
    kubeconfigYaml: admin.yaml,
    dir,
    async restart(component) {
      await kill(component);
      await start(component);
    },
    async resyncKubelets() {
      await waitServing("kube-apiserver");
      await kill("kwok");
      await start("kwok");
    },
    kill,
    start,
    stop,
  };
}
