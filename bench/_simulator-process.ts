// The Kubernetes API simulator in a process of its own, driven by the benchmark over IPC: API
// latency, when each pod was created and became Ready, and a steady stream of pod updates.
import { LABEL_INSTANCE, LABEL_REQUEST_ID } from "../sidecar/provider/model.ts";
import { createSimulator, type Pod, type SimulatorOptions } from "../sidecar/simulator/index.ts";
import { serveParent } from "./_ipc.ts";
import { wallClockMs } from "./_stats.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as SimulatorOptions & { kubeconfig: string };
const simulator = await createSimulator(options);
const kubeconfig = await simulator.writeKubeconfig(options.kubeconfig);

/** Pod name → wall-clock ms when it was stored, and when it was first Ready. */
const createdAt = new Map<string, number>();
const readyAt = new Map<string, number>();
const isReady = (pod: Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
simulator.store.subscribe("pods", (event) => {
  const name = event.object.metadata.name as string;
  if (event.type === "ADDED") createdAt.set(name, wallClockMs());
  if (event.type !== "DELETED" && !readyAt.has(name) && isReady(event.object as Pod)) {
    readyAt.set(name, wallClockMs());
  }
});

const ourPods = (instance: string) =>
  simulator.store
    .list("pods", "default")
    .filter((pod) => pod.metadata.labels?.[LABEL_INSTANCE] === instance) as Pod[];

/** The IP "projected" churn gives a pod every other update; its own one otherwise. */
const MOVED_IP = "10.255.255.254";
const originalIps = new Map<string, string>();

/** Churn ticks per second: each updates perSecond / CHURN_TICKS_PER_SECOND pods. */
const CHURN_TICKS_PER_SECOND = 100;

export const handlers = {
  latency({ delayMs }: { delayMs: number }) {
    simulator.faults.clear();
    if (delayMs > 0) simulator.faults.addLatency({ delayMs });
  },
  /** Wall-clock times of the pods of one request: stored, and first Ready. */
  podTimes({ requestId }: { requestId: string }) {
    const pods = simulator.store
      .list("pods", "default")
      .filter((pod) => pod.metadata.labels?.[LABEL_REQUEST_ID] === requestId);
    const names = pods.map((pod) => pod.metadata.name as string);
    return {
      created: names.map((name) => createdAt.get(name) ?? Number.NaN),
      ready: names.map((name) => readyAt.get(name) ?? Number.NaN),
    };
  },
  /**
   * Ends every watch of `resource` and answers the next watch of it 410 Gone, as an API server
   * whose watch cache lost the history does: every watcher must relist.
   */
  expireWatches({ resource }: { resource: string }) {
    simulator.faults.injectErrors({ verbs: ["watch"], resources: [resource], code: 410, count: 1 });
    return simulator.faults.dropWatches(resource);
  },
  /** Create and delete requests for pods the API server received, and the pods of `instance`
   * it holds. */
  podCounts({ instance }: { instance: string }) {
    return {
      creates: simulator.counters.get("create", "pods"),
      deletes: simulator.counters.get("delete", "pods"),
      pods: ourPods(instance).length,
    };
  },
  /** Every pod create answers 500 with `message`, as when an admission webhook is down. */
  failPodCreates({ message }: { message: string }) {
    simulator.faults.injectErrors({ verbs: ["create"], resources: ["pods"], code: 500, message });
  },
  /**
   * Updates pods of `instance` behind the API's back (every watcher sees each update), at
   * `perSecond` for `durationMs`. "projected" updates change what the sidecar keeps of a pod
   * (its IP); "ignored" ones change an annotation it does not keep.
   */
  async churn(args: {
    instance: string;
    perSecond: number;
    durationMs: number;
    change: "projected" | "ignored";
  }) {
    const names = ourPods(args.instance).map((pod) => pod.metadata.name as string);
    if (names.length === 0) throw new Error(`no pods of instance ${args.instance} to update`);
    const perTick = args.perSecond / CHURN_TICKS_PER_SECOND;
    const ticks = Math.round((args.durationMs / 1000) * CHURN_TICKS_PER_SECOND);
    const started = performance.now();
    let events = 0;
    let owed = 0;
    for (let tick = 0; tick < ticks; tick++) {
      owed += perTick;
      for (; owed >= 1; owed--) {
        const name = names[events % names.length] as string;
        const pod = structuredClone(simulator.store.get("pods", "default", name)) as Pod;
        if (args.change === "projected") {
          const ip = pod.status?.podIP ?? "";
          const original = originalIps.get(name) ?? ip;
          originalIps.set(name, original);
          pod.status = { ...pod.status, podIP: ip === original ? MOVED_IP : original };
        } else {
          pod.metadata.annotations = { ...pod.metadata.annotations, "bench/tick": String(events) };
        }
        simulator.store.put("pods", pod);
        events++;
      }
      const due = started + ((tick + 1) * 1000) / CHURN_TICKS_PER_SECOND;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    return { events, seconds: (performance.now() - started) / 1000 };
  },
};

process.on("SIGTERM", () => {
  void simulator.close().then(() => process.exit(0));
});
serveParent(handlers, { kubeconfig, url: simulator.url });
