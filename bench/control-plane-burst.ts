// Burst on the real control plane (test/control-plane): one requestMachines for 1,000 and 5,000
// machines against kube-apiserver, etcd, the scheduler and KWOK's kubelets, side by side with the
// physical limit of this machine: a tight loop creating the same pods, with as many creates in
// flight as the sidecar allows itself, over one pool of connections as the sidecar's. The ratio
// of the two rates is the share of the API server's capacity the provider turns into machines.
// Both rates are measured the same way: from the arrival of each pod's ADDED event on a watch of
// its namespace.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
  type V1PodSpec,
  Watch,
} from "@kubernetes/client-node";
import { shareConnections } from "../sidecar/kube/shared-dispatcher.ts";
import {
  type ControlPlane,
  controlPlaneUnavailable,
  startControlPlane,
} from "../test/control-plane/index.ts";
import { startProvider, TEMPLATES } from "./_cluster.ts";
import type { BenchContext } from "./_context.ts";
import type { Figure } from "./_report.ts";
import { wallClockMs } from "./_stats.ts";

/** The sidecar's own bound on API calls in flight (its default), and the raw loop's workers. */
const IN_FLIGHT = 32;
/** A rate limit the sidecar never reaches: here the API server is the limit. */
const UNLIMITED_QPS = 1_000_000;
/** Room for 5,000 pods of the bench template (10m cpu, 16Mi each). */
const NODES = ["node-1", "node-2", "node-3", "node-4"].map((name) => ({
  name,
  cpu: "64",
  memory: "256Gi",
  pods: 2_000,
}));
/** How often HostFactory's part polls for the request's status. */
const POLL_INTERVAL_MS = 100;
/** How long a burst's pods may take to be seen, or to be deleted between runs. */
const WAIT_TIMEOUT_MS = 300_000;
const CLEAN_POLL_MS = 500;
/** How long to wait before opening a watch the API server ended. */
const REWATCH_DELAY_MS = 100;

export async function benchControlPlaneBurst(context: BenchContext): Promise<Figure[]> {
  const unavailable = controlPlaneUnavailable();
  if (unavailable) {
    context.log(`burst on the control plane: skipped (${unavailable})`);
    return [];
  }
  const sizes = context.smoke ? [20] : [1_000, 5_000];
  context.log("starting the control plane…");
  const controlPlane = await startControlPlane({ nodes: NODES });
  const kubeConfig = controlPlane.kubeConfig();
  const podSpec = benchPodSpec();
  const figures: Figure[] = [];
  try {
    for (const size of sizes) {
      const section = `burst ${size.toLocaleString("en-US")} on the control plane (${IN_FLIGHT} in flight)`;
      const figure = (name: string, unit: string): Figure => ({ section, name, unit, values: [] });
      const ours = figure("pods created per second by the provider", "pods/s");
      const raw = figure("pods created per second by a tight create loop", "pods/s");
      const ratio = figure("provider's rate ÷ the tight loop's", "");
      const succeeded = figure("all machines succeed", "s");
      const duplicates: Figure = {
        ...figure("duplicate creates", "pods"),
        target: { kind: "max", value: 0 },
      };
      for (let run = 0; run < context.runs; run++) {
        const loop = await rawCreateLoop(controlPlane, kubeConfig, podSpec, size);
        const provider = await providerBurst(context, controlPlane, kubeConfig, size, run);
        raw.values.push(loop.perSecond);
        ours.values.push(provider.perSecond);
        ratio.values.push(provider.perSecond / loop.perSecond);
        succeeded.values.push(provider.succeededS);
        duplicates.values.push(provider.duplicates);
        context.log(
          `${section}: run ${run + 1}: provider ${Math.round(provider.perSecond)} pods/s, ` +
            `tight loop ${Math.round(loop.perSecond)} pods/s`,
        );
      }
      figures.push(ours, raw, ratio, succeeded, duplicates);
    }
  } finally {
    await controlPlane.stop();
  }
  return figures;
}

/** The bench template's pod spec: the tight loop creates the very pods the provider does. */
function benchPodSpec(): V1PodSpec {
  const { templates } = JSON.parse(readFileSync(TEMPLATES, "utf8")) as {
    templates: { podSpec: V1PodSpec }[];
  };
  return templates[0]?.podSpec as V1PodSpec;
}

/** `size` creates, IN_FLIGHT at a time, as fast as the API server answers. */
async function rawCreateLoop(
  controlPlane: ControlPlane,
  kubeConfig: KubeConfig,
  spec: V1PodSpec,
  size: number,
): Promise<{ perSecond: number }> {
  const namespace = await controlPlane.createNamespace();
  // One pool of connections, as the sidecar has: client-node alone opens one per call.
  const core = shareConnections(controlPlane.kubeConfig()).makeApiClient(CoreV1Api);
  const arrivals = await watchArrivals(kubeConfig, namespace);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < size; index = next++) {
      const body: V1Pod = { metadata: { name: `raw-${index}` }, spec };
      await core.createNamespacedPod({ namespace, body });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await arrivals.until(size);
  arrivals.stop();
  await clean(core, namespace);
  return { perSecond: arrivals.rate() };
}

/** One requestMachines for `size` machines, through the sidecar, until HostFactory sees them up. */
async function providerBurst(
  context: BenchContext,
  controlPlane: ControlPlane,
  kubeConfig: KubeConfig,
  size: number,
  run: number,
) {
  const namespace = await controlPlane.createNamespace();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const arrivals = await watchArrivals(kubeConfig, namespace);
  const provider = await startProvider({
    dir: join(context.dir, `control-plane-burst-${size}-${run}`),
    instance: `bench-${process.pid}-${size}-${run}`,
    kubeconfig: controlPlane.kubeconfigPath,
    namespace,
    qps: UNLIMITED_QPS,
    burst: IN_FLIGHT,
    maxInFlight: IN_FLIGHT,
  });
  try {
    const started = wallClockMs();
    const requestId = await provider.requestMachines(size);
    await provider.waitSucceeded([requestId], POLL_INTERVAL_MS);
    const succeededS = (wallClockMs() - started) / 1000;
    await arrivals.until(size);
    return { perSecond: arrivals.rate(), succeededS, duplicates: arrivals.duplicates() };
  } finally {
    arrivals.stop();
    await provider.stop();
    await clean(core, namespace);
  }
}

/**
 * When each pod of `namespace` was first seen on a watch (ADDED), from now on. A loaded API server
 * may end a watch early: it is opened again from the last resourceVersion seen, so no pod is
 * missed.
 */
async function watchArrivals(kubeConfig: KubeConfig, namespace: string) {
  const firstSeen = new Map<string, number>();
  /** Every pod created has a UID of its own: more UIDs than names are duplicate creates. */
  const uids = new Set<string>();
  let resourceVersion = "";
  let stopped = false;
  let controller: AbortController | undefined;
  const watch = new Watch(kubeConfig);
  const open = async (): Promise<void> => {
    if (stopped) return;
    try {
      controller = await watch.watch(
        `/api/v1/namespaces/${namespace}/pods`,
        resourceVersion ? { resourceVersion } : {},
        (type, pod: V1Pod) => {
          if (pod.metadata?.resourceVersion) resourceVersion = pod.metadata.resourceVersion;
          if (type !== "ADDED") return;
          uids.add(pod.metadata?.uid ?? "");
          const name = pod.metadata?.name ?? "";
          if (!firstSeen.has(name)) firstSeen.set(name, wallClockMs());
        },
        () => setTimeout(open, REWATCH_DELAY_MS),
      );
    } catch {
      setTimeout(open, REWATCH_DELAY_MS);
    }
  };
  await open();
  return {
    /** Resolves once `count` pods were seen. */
    async until(count: number) {
      const deadline = wallClockMs() + WAIT_TIMEOUT_MS;
      while (firstSeen.size < count) {
        if (wallClockMs() > deadline) {
          throw new Error(`${firstSeen.size} of ${count} pods of ${namespace} seen`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    },
    /** Pods per second from the first arrival to the last. */
    rate() {
      const times = [...firstSeen.values()].sort((a, b) => a - b);
      const span = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
      return span > 0 ? (times.length - 1) / span : Number.NaN;
    },
    duplicates: () => uids.size - firstSeen.size,
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** Deletes the namespace's pods at once and waits until they are gone, so runs do not overlap. */
async function clean(core: CoreV1Api, namespace: string): Promise<void> {
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
  const deadline = wallClockMs() + WAIT_TIMEOUT_MS;
  while ((await core.listNamespacedPod({ namespace, limit: 1 })).items.length > 0) {
    if (wallClockMs() > deadline) throw new Error(`the pods of ${namespace} were not deleted`);
    await new Promise((resolve) => setTimeout(resolve, CLEAN_POLL_MS));
  }
  await core.deleteNamespace({ name: namespace });
}
