// The sidecar in a process of its own (so its RSS is its own), driven by the benchmark over IPC:
// memory after a full GC, CPU time used, and the cost of serving one call measured inside it.
import { pino } from "pino";
import { ProviderServiceService } from "../proto/gen/hostfactory/v1/provider.ts";
import { startSidecar } from "../sidecar/app.ts";
import { loadConfig } from "../sidecar/config.ts";
import { createAdmitter } from "../sidecar/controller/admission.ts";
import { toRequest } from "../sidecar/grpc/convert.ts";
import { createProviderService } from "../sidecar/grpc/provider-service.ts";
import { connectCluster } from "../sidecar/kube/cluster.ts";
import { loadKubeConfig } from "../sidecar/kube/kubeconfig.ts";
import { createRateLimiter } from "../sidecar/kube/rate-limiter.ts";
import { createTemplatesSource } from "../sidecar/templates-source.ts";
import { serveParent } from "./_ipc.ts";

const {
  flags,
  kubeconfig,
  namespace = "default",
} = JSON.parse(process.argv[2] ?? "{}") as {
  flags: Record<string, string>;
  kubeconfig: string;
  namespace?: string;
};
const config = loadConfig({ ...flags, "leader-elect": false }, {});
const templatesFile = config.templates as string;
// As main.ts loads it for a real cluster.
const { kubeConfig } = loadKubeConfig({ kubeconfig });
const logger = pino({ level: "error" }, pino.destination(2));
const sidecar = await startSidecar(
  { ...config, templates: templatesFile, namespace },
  kubeConfig,
  logger,
);

// The handlers as the gRPC server runs them, over the same caches, for timing calls without
// the transport: decode the request, handle it, map and encode the answer.
const settings = {
  instance: config.instance,
  podNamePrefix: config.podNamePrefix,
  namespace,
  clusterDomain: config.clusterDomain,
};
const templates = createTemplatesSource(
  templatesFile,
  { pendingTimeoutSeconds: config.pendingTimeout },
  logger,
);
const cluster = connectCluster(kubeConfig, {
  namespace,
  instance: config.instance,
  limiter: createRateLimiter(),
  logger,
});
const service = createProviderService(settings, sidecar.state, templates, cluster.records, {
  foreignPodNames: cluster.foreignPodNames,
  admitter: createAdmitter(cluster.ledger, sidecar.state),
  references: cluster.references,
});
const { getRequestStatus, getReturnRequests } = ProviderServiceService;

const gc = globalThis.gc as () => void;

async function time(samples: number, serve: () => unknown): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await serve();
    durations.push(performance.now() - started);
  }
  return durations;
}

export const handlers = {
  /** process.memoryUsage() after a full garbage collection. */
  memory() {
    gc();
    gc();
    return process.memoryUsage();
  },
  /** CPU microseconds used so far (user + system). */
  cpu() {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  stats() {
    return {
      reconciler: sidecar.reconciler.stats,
      pods: sidecar.caches.pods.stats,
      records: sidecar.caches.records.stats,
    };
  },
  /** Milliseconds to serve getRequestStatus for `requestIds`, `samples` times. */
  timeGetRequestStatus({ requestIds, samples }: { requestIds: string[]; samples: number }) {
    const request = getRequestStatus.requestSerialize({ requestIds });
    return time(samples, async () => {
      const { requestIds: ids } = getRequestStatus.requestDeserialize(request);
      const statuses = await service.getRequestStatus(ids);
      return getRequestStatus.responseSerialize({ requests: statuses.map(toRequest) });
    });
  },
  /** Milliseconds to serve getReturnRequests for `machines`, `samples` times. */
  timeGetReturnRequests({
    machines,
    samples,
  }: {
    machines: { name: string; machineId: string }[];
    samples: number;
  }) {
    const request = getReturnRequests.requestSerialize({ machines });
    return time(samples, async () => {
      const { requests, message } = await service.getReturnRequests(
        getReturnRequests.requestDeserialize(request).machines,
      );
      return getReturnRequests.responseSerialize({ message, requests });
    });
  },
};

process.on("SIGTERM", () => {
  templates.close();
  void sidecar.stop().then(() => process.exit(0));
});
serveParent(handlers, { address: sidecar.address });
