// ProviderService over gRPC: its handlers (with convert.ts mapping answers and errors to protobuf
// and status codes), the server's lifecycle, and grpc.health.v1, server reflection and the
// operators' AdminService beside it.
import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  type AdminServiceServer,
  AdminServiceService,
} from "../../proto/gen/hostfactory/v1/admin.ts";
import {
  type ProviderServiceServer,
  ProviderServiceService,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { ProviderError } from "../provider/errors.ts";
import { toAttribute, toRequest, toServiceError } from "./convert.ts";
import { createHealth, type Health } from "./health.ts";
import type { ProviderService } from "./provider-service.ts";
import { addReflection } from "./reflection.ts";

export const SERVICE_NAME = "hostfactory.v1.ProviderService";
/** getReturnRequests carries every machine HostFactory holds: allow far more than grpc-js's 4 MiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** `signal` aborts when the client cancels the call (or goes away) or its deadline passes. */
type Unary<Req, Res> = (request: Req, signal: AbortSignal) => Res | Promise<Res>;

/** A signal for the life of a call: the client's cancellation, or its deadline. */
function callSignal(call: grpc.ServerUnaryCall<unknown, unknown>): {
  signal: AbortSignal;
  done: () => void;
} {
  const controller = new AbortController();
  const cancelled = () => controller.abort(new Error("the client cancelled the call"));
  call.on("cancelled", cancelled);
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  const timer = Number.isFinite(at)
    ? setTimeout(
        () => controller.abort(new Error("the call's deadline passed")),
        Math.max(0, at - Date.now()),
      )
    : undefined;
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      call.removeListener("cancelled", cancelled);
    },
  };
}

/** Told of every call served: its method, status code name and duration. */
export type CallObserver = (method: string, code: string, seconds: number) => void;

/**
 * Wraps a handler as a grpc-js unary handler: answers, or maps the error to a status; tells
 * `observe`; logs refusals at `refusals` level (INTERNAL always at error).
 */
export function unaryHandlers(
  logger: Logger,
  observe: CallObserver,
  refusals: "info" | "debug" = "info",
) {
  return <Req, Res>(method: string, handle: Unary<Req, Res>) =>
    async (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const { signal, done } = callSignal(call);
      try {
        const response = await handle(call.request, signal);
        observe(method, "OK", seconds());
        logger.debug({ method, ms: seconds() * 1000 }, "call served");
        callback(null, response);
      } catch (error) {
        const status = toServiceError(error);
        const code = grpc.status[status.code ?? grpc.status.UNKNOWN];
        observe(method, code, seconds());
        const level = status.code === grpc.status.INTERNAL ? "error" : refusals;
        logger[level]({ method, code, err: status.details }, "call failed");
        callback(status);
      } finally {
        done();
      }
    };
}

export function providerHandlers(
  service: ProviderService,
  logger: Logger,
  observe: CallObserver = () => {},
): ProviderServiceServer {
  const unary = unaryHandlers(logger, observe);
  return {
    getAvailableTemplates: unary("GetAvailableTemplates", () => {
      const { templates, message } = service.getAvailableTemplates();
      return {
        message,
        templates: templates.map((t) => ({
          templateId: t.templateId,
          maxNumber: t.maxNumber,
          availableNumber: t.availableNumber,
          attributes: Object.fromEntries(
            Object.entries(t.attributes).map(([name, value]) => [name, toAttribute(value)]),
          ),
        })),
      };
    }),
    requestMachines: unary("RequestMachines", async (request, signal) => {
      const answer = await service.requestMachines(request, signal);
      logger.info({ requestId: answer.requestId, ...request }, "machines requested");
      return answer;
    }),
    requestReturnMachines: unary("RequestReturnMachines", async (request, signal) => {
      const answer = await service.requestReturnMachines(request.machines, signal);
      logger.info(
        { requestId: answer.requestId, machines: request.machines.map((m) => m.name) },
        "machines returned",
      );
      return answer;
    }),
    getRequestStatus: unary("GetRequestStatus", async (request) => {
      if (request.requestIds.length === 0) {
        throw new ProviderError("invalid-argument", "no request ids given");
      }
      const statuses = await service.getRequestStatus(request.requestIds);
      return { requests: statuses.map(toRequest) };
    }),
    getReturnRequests: unary("GetReturnRequests", async (request) => {
      const { requests, message } = await service.getReturnRequests(request.machines);
      return {
        message,
        requests: requests.map((r) => ({
          machine: r.machine,
          machineId: r.machineId,
          gracePeriod: r.gracePeriod,
          reason: r.reason,
        })),
      };
    }),
    watchRequest: async (call) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      const controller = new AbortController();
      call.on("cancelled", () => controller.abort());
      try {
        await service.watchRequest(
          call.request.requestId,
          (status) => call.write({ request: toRequest(status) }),
          controller.signal,
        );
        call.end();
        observe("WatchRequest", "OK", seconds());
      } catch (error) {
        const status = toServiceError(error);
        observe("WatchRequest", grpc.status[status.code ?? grpc.status.UNKNOWN], seconds());
        call.destroy(Object.assign(new Error(), status));
      }
    },
  };
}

export interface GrpcServer {
  readonly health: Health;
  /** Also serves grpc.health.v1 alone, in plain text, on `address` (for native grpc probes,
   * which can reach neither a Unix socket nor TLS); resolves with the bound address. */
  listenHealth(address: string): Promise<string>;
  /** Binds the listen address; resolves with the address actually bound (port 0 resolved). */
  listen(address: string, credentials: grpc.ServerCredentials, socketMode: number): Promise<string>;
  /** Stops accepting calls, lets in-flight ones finish for up to `graceMs`, then cancels them. */
  shutdown(graceMs: number): Promise<void>;
}

function socketPath(address: string): string | undefined {
  if (!address.startsWith("unix:")) return undefined;
  return address.replace(/^unix:(\/\/)?/, "");
}

/** Whether something accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials) {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

export function createGrpcServer(
  service: ProviderService,
  logger: Logger,
  observe?: CallObserver,
  admin?: AdminServiceServer,
): GrpcServer {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  server.addService(ProviderServiceService, providerHandlers(service, logger, observe));
  if (admin) server.addService(AdminServiceService, admin);
  const health = createHealth({ "": "NOT_SERVING", [SERVICE_NAME]: "NOT_SERVING" });
  health.addToServer(server);
  addReflection(server, [SERVICE_NAME, "hostfactory.v1.AdminService"]);
  let boundSocket: string | undefined;
  let healthServer: grpc.Server | undefined;

  return {
    health,
    async listen(address, credentials, socketMode) {
      const path = socketPath(address);
      if (path) {
        mkdirSync(dirname(path), { recursive: true });
        if (existsSync(path)) {
          if (await answers(path)) {
            throw new Error(
              `another process is serving on ${path}; stop it or choose another --listen`,
            );
          }
          // A socket left by a killed predecessor would make bind fail.
          rmSync(path);
        }
      }
      const port = await bind(server, address, credentials);
      if (path) {
        chmodSync(path, socketMode);
        boundSocket = path;
        return `unix://${path}`;
      }
      return address.replace(/:\d+$/, `:${port}`);
    },
    async listenHealth(address) {
      healthServer = new grpc.Server();
      health.addToServer(healthServer);
      const port = await bind(healthServer, address, grpc.ServerCredentials.createInsecure());
      return address.replace(/:\d+$/, `:${port}`);
    },
    async shutdown(graceMs) {
      healthServer?.forceShutdown();
      health.setStatus("", "NOT_SERVING");
      health.setStatus(SERVICE_NAME, "NOT_SERVING");
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      if (boundSocket) rmSync(boundSocket, { force: true });
    },
  };
}
