// Calls to the sidecar's ProviderService, one connection each, with a deadline; a failed call
// becomes the ClientError errors.ts makes of its status. The admin commands reach the sidecar
// through the same transport (sidecarTransport).
import { readFileSync } from "node:fs";
import { ProviderServiceService } from "../proto/gen/hostfactory/v1/provider.ts";
import { invalidInput, sidecarError } from "./errors.ts";
import { GrpcCallError } from "./grpc-status.ts";
import { createGrpcTransport, type GrpcTransport, type TlsCredentials } from "./grpc-transport.ts";
import type { Settings, TlsConfig } from "./settings.ts";

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

/** getRequestStatus for many large requests can exceed gRPC's usual 4 MiB. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The transport to the sidecar the settings name; reads the TLS files now. */
export function sidecarTransport(settings: Settings): GrpcTransport {
  return createGrpcTransport({
    target: settings.address.target,
    tls: settings.tls && readTls(settings.tls),
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
}

export function connectSidecar(settings: Settings): Sidecar {
  const transport = sidecarTransport(settings);
  return {
    async call(method, request) {
      const definition = ProviderServiceService[method];
      const serialize = definition.requestSerialize as (value: typeof request) => Buffer;
      const deserialize = definition.responseDeserialize as (
        value: Buffer,
      ) => ResponseOf<typeof method>;
      try {
        const answer = await transport.unary(
          definition.path,
          serialize(request),
          Date.now() + settings.timeoutMs,
        );
        return deserialize(Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength));
      } catch (error) {
        if (!(error instanceof GrpcCallError)) throw error;
        throw sidecarError(error, settings);
      }
    },
  };
}

function readTls(tls: TlsConfig): TlsCredentials {
  const read = (key: "ca" | "cert" | "key"): Buffer | undefined => {
    const path = tls[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw invalidInput(`cannot read tls.${key} file ${path}: ${(error as Error).message}`);
    }
  };
  return { ca: read("ca"), cert: read("cert"), key: read("key"), serverName: tls.serverName };
}
