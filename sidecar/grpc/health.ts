// grpc.health.v1 on the generated messages: Check, Watch and List over a status per service name
// ("" for the whole server), as gRPC's health-checking protocol defines them
// (https://github.com/grpc/grpc/blob/master/doc/health-checking.md).
import * as grpc from "@grpc/grpc-js";
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  type HealthServer,
  HealthService,
} from "../../proto/gen/grpc/health/v1/health.ts";

/** What the sidecar says of a service: it serves, or it does not (yet, or any more). */
export type ServingStatus = "SERVING" | "NOT_SERVING";

export interface Health {
  /** Sets `service`'s status and tells every Watch of it. */
  setStatus(service: string, status: ServingStatus): void;
  /** Serves grpc.health.v1 on `server` (one Health may be served on several servers). */
  addToServer(server: grpc.Server): void;
}

/** A Health knowing `initial`'s services; any other name is unknown to it. */
export function createHealth(initial: Record<string, ServingStatus>): Health {
  const statuses = new Map(Object.entries(initial));
  const watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  const answer = (status: ServingStatus): HealthCheckResponse => ({
    status: HealthCheckResponse_ServingStatus[status],
  });

  const handlers: HealthServer = {
    check(call, callback) {
      const status = statuses.get(call.request.service);
      if (status) callback(null, answer(status));
      else {
        callback({
          code: grpc.status.NOT_FOUND,
          details: `health status unknown for service '${call.request.service}'`,
        });
      }
    },
    watch(call) {
      const { service } = call.request;
      const send = (status: ServingStatus) => call.write(answer(status));
      const set = watchers.get(service) ?? new Set();
      watchers.set(service, set.add(send));
      call.on("cancelled", () => set.delete(send));
      const status = statuses.get(service);
      // The protocol keeps a Watch of an unknown service open: it may become known.
      if (status) send(status);
      else call.write({ status: HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN });
    },
    list(_call, callback) {
      const all = [...statuses].map(([service, status]) => [service, answer(status)]);
      callback(null, { statuses: Object.fromEntries(all) });
    },
  };

  return {
    setStatus(service, status) {
      statuses.set(service, status);
      for (const send of watchers.get(service) ?? []) send(status);
    },
    addToServer(server) {
      server.addService(HealthService, handlers);
    },
  };
}
