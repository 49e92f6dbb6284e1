import type { AccessRule, Authorization } from "./authorization.ts";
import type { Cluster } from "./cluster.ts";
import type { Counters } from "./counters.ts";
import type { EventLog } from "./event-log.ts";
import type { ErrorRule, FaultConfig, Faults, LatencyRule, RateLimit } from "./faults.ts";
import type { NodeSpec } from "./node-factory.ts";

/**
 * The simulator's own HTTP API under /simulator/, so that a simulator running on its own
 * (npm run simulator) can be driven from outside:
 *
 *   GET    /simulator/faults                    faults in force (FaultConfig)
 *   PUT    /simulator/faults                    replace them (FaultConfig)
 *   DELETE /simulator/faults                    lift them all
 *   POST   /simulator/faults/errors             add an ErrorRule
 *   POST   /simulator/faults/latency            add a LatencyRule
 *   POST   /simulator/faults/rate-limit         set a RateLimit (null lifts it)
 *   POST   /simulator/faults/drop-watches       ?resource=pods (optional)
 *   POST   /simulator/faults/reset-watches      ?resource=pods (optional)
 *   POST   /simulator/faults/stall-watches      ?durationMs=5000 (optional)
 *   POST   /simulator/faults/resume-watches
 *   POST   /simulator/faults/compact-history
 *   POST   /simulator/faults/restart            ?downtimeMs=1000&keepHistory=true (optional)
 *   GET    /simulator/authorization             denials in force; DELETE lifts them all
 *   POST   /simulator/authorization/deny        add a denial (AccessRule)
 *   GET    /simulator/counters                  requests by verb and resource; DELETE resets
 *   GET    /simulator/events                    the event log (?kind=scheduled)
 *   POST   /simulator/nodes                     add a node (NodeSpec)
 *   DELETE /simulator/nodes/NAME                remove a node
 *   POST   /simulator/nodes/NAME/ACTION         ready, not-ready, cordon, uncordon, drain
 *   POST   /simulator/pods/NS/NAME/ACTION       fail ({exitCode, reason, message}), complete, evict
 */

export interface AdminReply {
  code: number;
  body: unknown;
  /** Runs once the reply is sent (a restart must not cut its own answer). */
  after?: () => Promise<void>;
}

export interface AdminContext {
  faults: Faults;
  authorization: Authorization;
  cluster: Cluster;
  counters: Counters;
  log: EventLog;
}

const ok = (body: unknown = { ok: true }): AdminReply => ({ code: 200, body });
const notFound = (method: string, path: string): AdminReply => ({
  code: 404,
  body: { error: `no admin route for ${method} ${path}; see sidecar/simulator/README.md` },
});

function numberParam(query: URLSearchParams, key: string): number | undefined {
  const text = query.get(key);
  return text === null || text === "" ? undefined : Number(text);
}

export function createAdminHandler(context: AdminContext) {
  const { faults, authorization, cluster, counters, log } = context;

  const faultRoute = (
    method: string,
    action: string | undefined,
    query: URLSearchParams,
    body: unknown,
  ) => {
    const resource = query.get("resource") ?? undefined;
    if (action === undefined) {
      if (method === "GET") return ok(faults.config());
      if (method === "PUT") {
        faults.configure((body ?? {}) as Partial<FaultConfig>);
        return ok(faults.config());
      }
      if (method === "DELETE") {
        faults.clear();
        return ok(faults.config());
      }
      return undefined;
    }
    if (method !== "POST") return undefined;
    switch (action) {
      case "errors":
        faults.injectErrors(body as ErrorRule);
        return ok(faults.config());
      case "latency":
        faults.addLatency(body as LatencyRule);
        return ok(faults.config());
      case "rate-limit":
        faults.setRateLimit((body ?? null) as RateLimit | null);
        return ok(faults.config());
      case "drop-watches":
        return ok({ dropped: faults.dropWatches(resource) });
      case "reset-watches":
        return ok({ reset: faults.resetWatches(resource) });
      case "stall-watches":
        faults.stallWatches(numberParam(query, "durationMs"));
        return ok(faults.config());
      case "resume-watches":
        faults.resumeWatches();
        return ok(faults.config());
      case "compact-history":
        faults.compactHistory();
        return ok();
      case "restart": {
        const downtimeMs = numberParam(query, "downtimeMs");
        const keepHistory = query.get("keepHistory") === "true";
        return {
          ...ok(),
          after: () => faults.restart({ ...(downtimeMs ? { downtimeMs } : {}), keepHistory }),
        };
      }
      default:
        return undefined;
    }
  };

  const nodeRoute = (
    method: string,
    name: string | undefined,
    action: string | undefined,
    body: unknown,
  ) => {
    if (name === undefined) {
      if (method === "POST") return ok(cluster.addNode(body as NodeSpec));
      if (method === "GET") return ok(cluster.nodes());
      return undefined;
    }
    if (method === "DELETE" && action === undefined) {
      cluster.removeNode(name);
      return ok();
    }
    if (method !== "POST") return undefined;
    switch (action) {
      case "ready":
        cluster.setNodeReady(name, true);
        return ok();
      case "not-ready":
        cluster.setNodeReady(name, false);
        return ok();
      case "cordon":
        cluster.cordon(name);
        return ok();
      case "uncordon":
        cluster.uncordon(name);
        return ok();
      case "drain":
        return ok({ ok: true, heldBack: cluster.drainNode(name) });
      default:
        return undefined;
    }
  };

  const podRoute = (method: string, parts: string[], body: unknown) => {
    const [namespace, name, action] = parts;
    if (method !== "POST" || !namespace || !name) return undefined;
    switch (action) {
      case "fail":
        cluster.failPod(namespace, name, (body ?? {}) as Parameters<Cluster["failPod"]>[2]);
        return ok();
      case "complete":
        cluster.completePod(namespace, name);
        return ok();
      case "evict":
        cluster.evictPod(namespace, name);
        return ok();
      default:
        return undefined;
    }
  };

  return async (
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
  ): Promise<AdminReply> => {
    const [, section, ...rest] = path.split("/").filter(Boolean);
    let reply: AdminReply | undefined;
    try {
      switch (section) {
        case "faults":
          reply = faultRoute(method, rest[0], query, body);
          break;
        case "authorization":
          if (method === "GET" && rest[0] === undefined) reply = ok(authorization.rules());
          else if (method === "DELETE" && rest[0] === undefined) {
            authorization.clear();
            reply = ok(authorization.rules());
          } else if (method === "POST" && rest[0] === "deny") {
            authorization.deny((body ?? {}) as AccessRule);
            reply = ok(authorization.rules());
          }
          break;
        case "counters":
          if (method === "GET") reply = ok(counters.snapshot());
          else if (method === "DELETE") {
            counters.reset();
            reply = ok();
          }
          break;
        case "events":
          if (method === "GET") reply = ok(log.entries(query.get("kind") ?? undefined));
          break;
        case "nodes":
          reply = nodeRoute(method, rest[0], rest[1], body);
          break;
        case "pods":
          reply = podRoute(method, rest, body);
          break;
      }
    } catch (error) {
      return { code: 400, body: { error: (error as Error).message } };
    }
    return reply ?? notFound(method, path);
  };
}
