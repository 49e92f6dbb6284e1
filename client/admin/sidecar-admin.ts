// The admin commands' connection to the sidecar: AdminService calls, the WatchRequest stream and
// grpc.health.v1, over grpc-js. HostFactory's operations speak HTTP/2 by hand (unary-call.ts) to
// start fast; these commands are run by people, need a server stream, and are left out of the
// scripts' bundle, so they use the standard client. Where the sidecar is, and how to reach it,
// comes from the same settings as the operations (settings.ts).

import { readFileSync } from "node:fs";
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import {
  AdminServiceClient,
  type AdminServiceService,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import {
  ProviderServiceClient,
  type Request,
  type WatchRequestResponse,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { ClientError, invalidInput } from "../errors.ts";
import type { Settings } from "../settings.ts";

/** Statuses by which the sidecar says the question itself is wrong: asking again cannot help. */
const INVALID_REQUEST_CODES = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.OUT_OF_RANGE,
]);
/** GetRequest of a request with thousands of machines can pass gRPC's usual 4 MiB. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

type Service = typeof AdminServiceService;
export type AdminMethod = keyof Service;
export type AdminRequest<M extends AdminMethod> = Parameters<Service[M]["requestSerialize"]>[0];
export type AdminResponse<M extends AdminMethod> = ReturnType<Service[M]["responseDeserialize"]>;

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
  close(): void;
}

function credentialsOf(settings: Settings): {
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
} {
  const options: grpc.ChannelOptions = { "grpc.max_receive_message_length": MAX_RESPONSE_BYTES };
  const { tls } = settings;
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options };
  const read = (key: "ca" | "cert" | "key") => {
    const path = tls[key];
    if (path === undefined) return null;
    try {
      return readFileSync(path);
    } catch (error) {
      throw invalidInput(`cannot read tls.${key} file ${path}: ${(error as Error).message}`);
    }
  };
  if (tls.serverName) options["grpc.ssl_target_name_override"] = tls.serverName;
  return {
    credentials: grpc.credentials.createSsl(read("ca"), read("key"), read("cert")),
    options,
  };
}

/** A gRPC failure as the admin commands report it: exit 2 when asking again cannot help. */
function fromServiceError(error: grpc.ServiceError, settings: Settings, where: string) {
  const detail = `gRPC ${grpc.status[error.code]} from ${where}: ${error.details}`;
  if (INVALID_REQUEST_CODES.has(error.code)) {
    return invalidInput(error.details, { detail, cause: error });
  }
  const message =
    error.code === grpc.status.UNAVAILABLE
      ? `the hostfactory-k8s sidecar is not reachable at ${settings.addressText}: is it running?`
      : error.code === grpc.status.DEADLINE_EXCEEDED
        ? `the hostfactory-k8s sidecar at ${settings.addressText} did not answer within the deadline`
        : error.code === grpc.status.UNIMPLEMENTED
          ? `the hostfactory-k8s sidecar at ${settings.addressText} does not serve this call (is it older than this client?)`
          : `the hostfactory-k8s sidecar at ${settings.addressText} failed: ${error.details}`;
  return new ClientError("sidecar_failed", message, { detail, cause: error });
}

function encodeHealthCheck(service: string): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).string(service).finish());
}

function decodeHealthCheck(bytes: Buffer): string {
  const reader = new BinaryReader(bytes);
  let status = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) status = reader.int32();
    else reader.skip(tag & 7);
  }
  return SERVING_STATUS[status] ?? `status ${status}`;
}

export function connectSidecarAdmin(settings: Settings): SidecarAdmin {
  const { credentials, options } = credentialsOf(settings);
  const target = settings.address.target;
  const admin = new AdminServiceClient(target, credentials, options);
  const provider = new ProviderServiceClient(target, credentials, options);
  const where = `${settings.addressText} (address from ${settings.addressSource})`;
  const deadline = () => Date.now() + settings.timeoutMs;

  return {
    where,
    call(method, request) {
      return new Promise((resolve, reject) => {
        const fn = admin[method] as unknown as (
          request: unknown,
          metadata: grpc.Metadata,
          options: Partial<grpc.CallOptions>,
          callback: (error: grpc.ServiceError | null, response: unknown) => void,
        ) => grpc.ClientUnaryCall;
        fn.call(admin, request, new grpc.Metadata(), { deadline: deadline() }, (error, response) =>
          error
            ? reject(fromServiceError(error, settings, where))
            : resolve(response as AdminResponse<typeof method>),
        );
      });
    },
    watch(requestId, onUpdate, deadlineMs) {
      return new Promise((resolve, reject) => {
        let last: Request | undefined;
        const stream = provider.watchRequest(
          { requestId },
          deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs },
        );
        stream.on("data", (update: WatchRequestResponse) => {
          if (!update.request) return;
          last = update.request;
          onUpdate(update.request);
        });
        stream.on("error", (error: grpc.ServiceError) =>
          reject(fromServiceError(error, settings, where)),
        );
        stream.on("end", () => resolve(last));
      });
    },
    health(service) {
      return new Promise((resolve, reject) => {
        admin.makeUnaryRequest(
          HEALTH_CHECK_PATH,
          encodeHealthCheck,
          decodeHealthCheck,
          service,
          new grpc.Metadata(),
          { deadline: deadline() },
          (error, status) => {
            if (error?.code === grpc.status.NOT_FOUND) resolve("SERVICE_UNKNOWN");
            else if (error) reject(fromServiceError(error, settings, where));
            else resolve(status as string);
          },
        );
      });
    },
    close() {
      admin.close();
      provider.close();
    },
  };
}
