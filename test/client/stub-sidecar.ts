// A test double of the sidecar: a real grpc-js server implementing ProviderService with canned
// answers (the samples by default), recording every call it gets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type StatusObject,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { RequestOf, ResponseOf, UnaryMethod } from "../../client/connect.ts";
import { ProviderServiceService } from "../../proto/gen/hostfactory/v1/provider.ts";
import { SAMPLE_RESPONSES } from "./sample-responses.ts";

/** What a stub method does: answer, fail with a gRPC status, or never answer. */
export type StubAnswer<M extends UnaryMethod> =
  | ResponseOf<M>
  | { fail: status; details: string }
  | "hang"
  | ((request: RequestOf<M>) => ResponseOf<M>);

export type StubAnswers = { [M in UnaryMethod]?: StubAnswer<M> };

export interface StubSidecar {
  /** The address to give the client. */
  address: string;
  /** Every call, in order. */
  calls: { method: UnaryMethod; request: unknown }[];
  close(): Promise<void>;
}

export interface StubOptions {
  /** Serve TCP with these credentials on 127.0.0.1 instead of a Unix socket. */
  tls?: ServerCredentials;
  /** Serve plain TCP on 127.0.0.1. */
  tcp?: boolean;
}

export async function startStubSidecar(
  answers: StubAnswers = {},
  options: StubOptions = {},
): Promise<StubSidecar> {
  const calls: StubSidecar["calls"] = [];
  const hanging: (() => void)[] = [];
  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(SAMPLE_RESPONSES) as UnaryMethod[]) {
    const answer = (answers[method] ?? SAMPLE_RESPONSES[method]) as StubAnswer<UnaryMethod>;
    implementation[method] = (
      call: ServerUnaryCall<unknown, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      calls.push({ method, request: call.request });
      if (answer === "hang") {
        hanging.push(() => callback({ code: status.CANCELLED, details: "stub closed" }));
      } else if (typeof answer === "function") {
        callback(null, (answer as (request: unknown) => unknown)(call.request));
      } else if ("fail" in answer) {
        callback({ code: answer.fail, details: answer.details } as Partial<StatusObject>);
      } else {
        callback(null, answer);
      }
    };
  }
  const server = new Server();
  server.addService(ProviderServiceService, implementation);

  const dir = mkdtempSync(join(tmpdir(), "hf-stub-sidecar-"));
  let address: string;
  if (options.tls || options.tcp) {
    const port = await bind(
      server,
      "127.0.0.1:0",
      options.tls ?? ServerCredentials.createInsecure(),
    );
    address = `127.0.0.1:${port}`;
  } else {
    address = `unix://${join(dir, "sidecar.sock")}`;
    await bind(server, address, ServerCredentials.createInsecure());
  }
  return {
    address,
    calls,
    async close() {
      for (const release of hanging) release();
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}
