// The admin commands' connection to the sidecar: AdminService calls, the WatchRequest stream and
// grpc.health.v1, on the transport HostFactory's operations use (connect.ts, grpc-transport.ts),
// with their settings and the one meaning of a failed call (errors.ts' sidecarError).

import {
  type HealthCheckResponse_ServingStatus,
  HealthService,
  healthCheckResponse_ServingStatusToJSON,
} from "../../proto/gen/grpc/health/v1/health.ts";
import { AdminServiceService } from "../../proto/gen/hostfactory/v1/admin.ts";
import { ProviderServiceService, type Request } from "../../proto/gen/hostfactory/v1/provider.ts";
import { sidecarTransport } from "../connect.ts";
import { sidecarError } from "../errors.ts";
import { GRPC_STATUS, GrpcCallError } from "../grpc-status.ts";
import type { Settings } from "../settings.ts";

type Service = typeof AdminServiceService;
export type AdminMethod = keyof Service;
export type AdminRequest<M extends AdminMethod> = Parameters<Service[M]["requestSerialize"]>[0];
export type AdminResponse<M extends AdminMethod> = ReturnType<Service[M]["responseDeserialize"]>;

/** Each call opens a connection of its own and ends it: nothing to close afterwards. */
export interface SidecarAdmin {
  /** Where the sidecar is, and where that came from, for messages. */
  readonly where: string;
  call<M extends AdminMethod>(method: M, request: AdminRequest<M>): Promise<AdminResponse<M>>;
  /**
   * Follows a request with ProviderService.WatchRequest: `onUpdate` for each status, resolving
   * with the last one once the sidecar ends the stream (after a final status). No deadline
   * unless `deadlineMs` is given.
   */
  watch(
    requestId: string,
    onUpdate: (request: Request) => void,
    deadlineMs?: number,
  ): Promise<Request | undefined>;
  /** grpc.health.v1's status of `service` ("" for the whole server): SERVING, NOT_SERVING, … */
  health(service: string): Promise<string>;
}

/** A serving status by name; one this client does not know, by number. */
function servingStatusName(status: HealthCheckResponse_ServingStatus): string {
  const name = healthCheckResponse_ServingStatusToJSON(status);
  return name === "UNRECOGNIZED" ? `status ${status}` : name;
}

export function connectSidecarAdmin(settings: Settings): SidecarAdmin {
  const transport = sidecarTransport(settings);
  const where = `${settings.addressText} (address from ${settings.addressSource})`;
  const deadline = () => Date.now() + settings.timeoutMs;
  const failure = (error: unknown) =>
    error instanceof GrpcCallError ? sidecarError(error, settings) : error;

  return {
    where,
    async call(method, request) {
      const definition = AdminServiceService[method];
      const serialize = definition.requestSerialize as (value: typeof request) => Buffer;
      const deserialize = definition.responseDeserialize as (
        value: Buffer,
      ) => AdminResponse<typeof method>;
      try {
        return deserialize(await transport.unary(definition.path, serialize(request), deadline()));
      } catch (error) {
        throw failure(error);
      }
    },
    async watch(requestId, onUpdate, deadlineMs) {
      const definition = ProviderServiceService.watchRequest;
      let last: Request | undefined;
      try {
        await transport.serverStream(
          definition.path,
          definition.requestSerialize({ requestId }),
          (message) => {
            const update = definition.responseDeserialize(message);
            if (!update.request) return;
            last = update.request;
            onUpdate(update.request);
          },
          deadlineMs === undefined ? undefined : Date.now() + deadlineMs,
        );
      } catch (error) {
        throw failure(error);
      }
      return last;
    },
    async health(service) {
      try {
        const { check } = HealthService;
        const answer = await transport.unary(
          check.path,
          check.requestSerialize({ service }),
          deadline(),
        );
        return servingStatusName(check.responseDeserialize(answer).status);
      } catch (error) {
        if (error instanceof GrpcCallError && error.code === GRPC_STATUS.NOT_FOUND) {
          return "SERVICE_UNKNOWN";
        }
        throw failure(error);
      }
    },
  };
}
