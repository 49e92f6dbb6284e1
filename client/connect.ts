// Calls to the sidecar, one connection each, with a deadline; gRPC failures turned into
// ClientErrors: the codes that mean "this request is wrong" exit 2, everything else exits 1 so
// that HostFactory retries. node:tls is loaded only for a TLS address.
import { readFileSync } from "node:fs";
import { connect as connectNet, isIP, type Socket } from "node:net";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import { ProviderServiceService } from "../proto/gen/hostfactory/v1/provider.ts";
import { ClientError, invalidInput } from "./errors.ts";
import type { Settings, TlsConfig } from "./settings.ts";
import { GRPC_STATUS, GrpcCallError, statusName, unaryCall } from "./unary-call.ts";

type Service = typeof ProviderServiceService;
/** The RPCs HostFactory's operations use (all but the WatchRequest stream). */
export type UnaryMethod = {
  [M in keyof Service]: Service[M]["responseStream"] extends false ? M : never;
}[keyof Service];
export type RequestOf<M extends UnaryMethod> = Parameters<Service[M]["requestSerialize"]>[0];
export type ResponseOf<M extends UnaryMethod> = ReturnType<Service[M]["responseDeserialize"]>;

/** Each call opens a connection of its own and ends it: nothing to close afterwards. */
export interface Sidecar {
  call<M extends UnaryMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>>;
}

/** Statuses by which the sidecar says the request itself is wrong: resending it cannot help. */
const INVALID_REQUEST_CODES = new Set<number>([
  GRPC_STATUS.INVALID_ARGUMENT,
  GRPC_STATUS.NOT_FOUND,
  GRPC_STATUS.RESOURCE_EXHAUSTED,
  GRPC_STATUS.FAILED_PRECONDITION,
  GRPC_STATUS.OUT_OF_RANGE,
]);

/** getRequestStatus for many large requests can exceed gRPC's usual 4 MiB. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** What grpc-js gives as the authority of a Unix socket. */
const UNIX_AUTHORITY = "localhost";

interface Endpoint {
  /** For a Unix socket. */
  path?: string;
  host: string;
  port: number;
}

function endpointOf(target: string): Endpoint {
  if (target.startsWith("unix:")) return { path: target.slice("unix:".length), host: "", port: 0 };
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(target.slice(colon + 1)) };
}

export function connectSidecar(settings: Settings): Sidecar {
  const endpoint = endpointOf(settings.address.target);
  const tlsOptions = settings.tls && tlsConnectionOptions(settings.tls, endpoint);
  const where = `${settings.addressText} (address from ${settings.addressSource})`;
  const authority = endpoint.path ? UNIX_AUTHORITY : settings.address.target;

  return {
    async call(method, request) {
      const definition = ProviderServiceService[method];
      const deadline = Date.now() + settings.timeoutMs;
      try {
        const socket = await open(endpoint, tlsOptions, deadline);
        const answer = await unaryCall({
          socket,
          path: definition.path,
          authority,
          scheme: tlsOptions ? "https" : "http",
          message: (definition.requestSerialize as (value: typeof request) => Buffer)(request),
          deadline,
          maxResponseBytes: MAX_RESPONSE_BYTES,
        });
        return (definition.responseDeserialize as (value: Buffer) => ResponseOf<typeof method>)(
          Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength),
        );
      } catch (error) {
        if (!(error instanceof GrpcCallError)) throw error;
        throw fromCallError(error, settings, where);
      }
    },
  };
}

/** Connects, within the deadline; a failure is UNAVAILABLE, as gRPC reports it. */
async function open(
  endpoint: Endpoint,
  tlsOptions: ConnectionOptions | undefined,
  deadline: number,
): Promise<Socket | TLSSocket> {
  let socket: Socket | TLSSocket;
  let ready: "connect" | "secureConnect";
  if (tlsOptions) {
    const { connect } = await import("node:tls");
    socket = connect(tlsOptions);
    ready = "secureConnect";
  } else {
    socket = endpoint.path
      ? connectNet({ path: endpoint.path })
      : connectNet({ host: endpoint.host, port: endpoint.port });
    ready = "connect";
  }
  return new Promise((resolve, reject) => {
    const fail = (error: GrpcCallError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new GrpcCallError(GRPC_STATUS.DEADLINE_EXCEEDED, "Deadline exceeded")),
      Math.max(0, deadline - Date.now()),
    );
    socket.once("error", (error) =>
      fail(
        new GrpcCallError(
          GRPC_STATUS.UNAVAILABLE,
          `No connection established. Last error: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    socket.once(ready, () => {
      const protocol = (socket as TLSSocket).alpnProtocol;
      if (ready === "secureConnect" && protocol !== "h2") {
        const offered = protocol ? `"${protocol}"` : "nothing";
        fail(
          new GrpcCallError(
            GRPC_STATUS.UNAVAILABLE,
            `the server does not speak HTTP/2 over TLS (ALPN agreed on ${offered})`,
          ),
        );
        return;
      }
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

function tlsConnectionOptions(tls: TlsConfig, endpoint: Endpoint): ConnectionOptions {
  const options: ConnectionOptions = {
    host: endpoint.host,
    port: endpoint.port,
    ALPNProtocols: ["h2"],
  };
  const ca = readTlsFile(tls, "ca");
  const key = readTlsFile(tls, "key");
  const cert = readTlsFile(tls, "cert");
  if (ca) options.ca = ca;
  if (key && cert) Object.assign(options, { key, cert });
  // SNI takes a host name, never an address; the certificate is then checked against the address.
  const serverName = tls.serverName ?? (isIP(endpoint.host) ? undefined : endpoint.host);
  if (serverName) options.servername = serverName;
  return options;
}

function readTlsFile(tls: TlsConfig, key: "ca" | "cert" | "key"): Buffer | undefined {
  const path = tls[key];
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw invalidInput(`cannot read tls.${key} file ${path}: ${(error as Error).message}`);
  }
}

function fromCallError(error: GrpcCallError, settings: Settings, where: string): ClientError {
  const detail = `gRPC ${statusName(error.code)} from ${where}: ${error.details}`;
  if (INVALID_REQUEST_CODES.has(error.code)) {
    // The sidecar's message is written for the administrator: pass it through.
    return invalidInput(error.details, { detail, cause: error });
  }
  const message =
    error.code === GRPC_STATUS.UNAVAILABLE
      ? `the hostfactory-k8s sidecar is not reachable at ${settings.addressText}: is it running?`
      : error.code === GRPC_STATUS.DEADLINE_EXCEEDED
        ? `the hostfactory-k8s sidecar at ${settings.addressText} did not answer within ${settings.timeoutMs / 1000}s`
        : `the hostfactory-k8s sidecar at ${settings.addressText} failed: ${error.details}`;
  return new ClientError("sidecar_failed", message, { detail, cause: error });
}
