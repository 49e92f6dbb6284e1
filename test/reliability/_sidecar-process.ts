// A sidecar in a process of its own, so that its heap is measured without the simulator's, which
// keeps a window of watch history, an event log and counters that grow or fill up over a run and
// would hide or fake a leak. The soak spawns this file with --expose-gc and an IPC channel:
//
//   → {type: "probe", id, templateId, requestIds, podNames}  ← {type: "probe", id, ...SidecarProbe}
//   → {type: "stop"}                                         ← exits once the sidecar has stopped
//
// argv[2] is JSON: {flags (as the sidecar's command line), kubeconfig (path)}.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { pino } from "pino";
import { startSidecar } from "../../sidecar/app.ts";
import { loadConfig } from "../../sidecar/config.ts";
import { loadKubeConfig } from "../../sidecar/kube/kubeconfig.ts";

export interface ProbeRequest {
  type: "probe";
  /** Echoed in the answer. */
  id: number;
  templateId: string;
  /** Create request ids whose pods should all be gone (cluster-state index by request). */
  requestIds: string[];
  /** Pod names no live return request should cover (cluster-state index of returns). */
  podNames: string[];
}

export interface SidecarProbe {
  /** process.memoryUsage().heapUsed after full collections. */
  heapUsed: number;
  pods: number;
  records: number;
  expectations: number;
  orphans: number;
  machinesInUse: number;
  /** Of `requestIds`, how many the state still indexes as having pods. */
  requestsWithPods: number;
  /** Of `podNames`, how many the state still indexes as being returned. */
  podsReturning: number;
  /** Open TCP connections, idle ones included: this process has none but those to the API. */
  apiConnections: number;
  reconciler: Record<string, number>;
  caches: Record<string, unknown>;
}

/** Collections repeated across turns, so that objects freed by finalizers go too. */
const GC_ROUNDS = 4;

const { flags, kubeconfig } = JSON.parse(process.argv[2] ?? "{}") as {
  flags: Record<string, unknown>;
  kubeconfig: string;
};
const collect = globalThis.gc;
if (!collect) throw new Error("run this file with node --expose-gc");
if (!process.send) throw new Error("run this file with an IPC channel");
const send = process.send.bind(process);

const config = loadConfig(flags, {});
// As main.ts loads it for a real cluster.
const { kubeConfig } = loadKubeConfig({ kubeconfig });
const sidecar = await startSidecar(
  { ...config, templates: String(config.templates), namespace: "default" },
  kubeConfig,
  pino({ level: process.env.HOSTFACTORY_TEST_LOG ?? "silent" }),
);

/**
 * Counts this process's TCP sockets from /proc (Linux), because Node's own resource list leaves
 * out unreferenced handles, which is what idle keep-alive connections are.
 */
function openTcpConnections(): number {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  let count = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (socket && inodes.has(socket[1] as string)) count++;
    } catch {
      // The descriptor closed while being read.
    }
  }
  return count;
}

async function probe(request: ProbeRequest): Promise<SidecarProbe> {
  for (let round = 0; round < GC_ROUNDS; round++) {
    collect?.();
    await nextTurn();
  }
  const { state, reconciler, caches } = sidecar;
  return {
    heapUsed: process.memoryUsage().heapUsed,
    pods: caches.pods.size,
    records: caches.records.size,
    expectations: reconciler.stats.expectations,
    orphans: reconciler.stats.orphans,
    machinesInUse: state.machinesInUse(request.templateId),
    requestsWithPods: request.requestIds.filter((id) => state.hasPods(id)).length,
    podsReturning: request.podNames.filter((name) => state.isReturning(name)).length,
    apiConnections: openTcpConnections(),
    reconciler: { ...reconciler.stats },
    caches: { pods: { ...caches.pods.stats }, records: { ...caches.records.stats } },
  };
}

process.on("message", (message: ProbeRequest | { type: "stop" }) => {
  if (message.type === "probe") {
    void probe(message).then((result) => send({ type: "probe", id: message.id, ...result }));
  } else if (message.type === "stop") {
    void sidecar.stop().then(() => process.exit(0));
  }
});
send({ type: "ready", address: sidecar.address });
