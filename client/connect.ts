// One gRPC channel to the sidecar, unary calls with a deadline, and gRPC failures turned into
// ClientErrors: the codes that mean "this request is wrong" exit 2, everything else exits 1 so
// that HostFactory retries.
import { readFileSync } from "node:fs";
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { ProviderServiceService } from "../proto/gen/hostfactory/v1/provider.ts";
import { ClientError, invalidInput } from "./errors.ts";
import type { Settings, TlsConfig } from "./settings.ts";

type Service = typeof ProviderServiceService;
/** The RPCs HostFactory's operations use (all but the WatchRequest stream). */
export type UnaryMethod = {
  [M in keyof Service]: Service[M]["responseStream"] extends false ? M : never;
}[keyof Service];
export type RequestOf<M extends UnaryMethod> = Parameters<Service[M]["requestSerialize"]>[0];
export type ResponseOf<M extends UnaryMethod> = ReturnType<Service[M]["responseDeserialize"]>;

export interface Sidecar {
  call<M extends UnaryMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>>;
  close(): void;
}

/** Statuses by which the sidecar says the request itself is wrong: resending it cannot help. */
const INVALID_REQUEST_CODES = new Set<status>([
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
]);

/** getRequestStatus for many large requests can exceed grpc-js's 4 MiB default. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export function connectSidecar(settings: Settings): Sidecar {
  const options: ChannelOptions = { "grpc.max_receive_message_length": MAX_RESPONSE_BYTES };
  if (settings.tls?.serverName) options["grpc.ssl_target_name_override"] = settings.tls.serverName;
  const client = new Client(settings.address.target, channelCredentials(settings), options);
  const where = `${settings.addressText} (address from ${settings.addressSource})`;

  return {
    call(method, request) {
      const definition = ProviderServiceService[method];
      const deadline = Date.now() + settings.timeoutMs;
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          definition.path,
          definition.requestSerialize as (value: typeof request) => Buffer,
          definition.responseDeserialize as (value: Buffer) => ResponseOf<typeof method>,
          request,
          new Metadata(),
          { deadline },
          (error, response) => {
            if (error || response === undefined) reject(fromServiceError(error, settings, where));
            else resolve(response);
          },
        );
      });
    },
    close: () => client.close(),
  };
}

function channelCredentials(settings: Settings): ChannelCredentials {
  const tls = settings.tls;
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(
    readTlsFile(tls, "ca"),
    readTlsFile(tls, "key"),
    readTlsFile(tls, "cert"),
  );
}

function readTlsFile(tls: TlsConfig, key: "ca" | "cert" | "key"): Buffer | null {
  const path = tls[key];
  if (path === undefined) return null;
  try {
    return readFileSync(path);
  } catch (error) {
    throw invalidInput(`cannot read tls.${key} file ${path}: ${(error as Error).message}`);
  }
}

function fromServiceError(
  error: ServiceError | null,
  settings: Settings,
  where: string,
): ClientError {
  if (error === null) {
    return new ClientError("sidecar_failed", `the sidecar at ${where} sent an empty answer`);
  }
  const detail = `gRPC ${status[error.code]} from ${where}: ${error.details}`;
  if (INVALID_REQUEST_CODES.has(error.code)) {
    // The sidecar's message is written for the administrator: pass it through.
    return invalidInput(error.details, { detail, cause: error });
  }
  const message =
    error.code === status.UNAVAILABLE
      ? `the hostfactory-k8s sidecar is not reachable at ${settings.addressText}: is it running?`
      : error.code === status.DEADLINE_EXCEEDED
        ? `the hostfactory-k8s sidecar at ${settings.addressText} did not answer within ${settings.timeoutMs / 1000}s`
        : `the hostfactory-k8s sidecar at ${settings.addressText} failed: ${error.details}`;
  return new ClientError("sidecar_failed", message, { detail, cause: error });
}
