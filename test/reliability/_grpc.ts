// The sidecar's gRPC API as the reliability tests call it: every call settles, under a deadline,
// with the answer or with its gRPC status, so that a hang shows up as DEADLINE_EXCEEDED and a
// refusal can be checked like an answer.
import * as grpc from "@grpc/grpc-js";
import {
  ProviderServiceClient,
  ProviderServiceService,
  RequestStatus,
  type WatchRequestResponse,
} from "../../proto/gen/hostfactory/v1/provider.ts";

/** Long enough for a loaded CI machine, short enough to name a hang. */
export const CALL_DEADLINE_MS = 20_000;

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: grpc.status; details: string };

type Service = typeof ProviderServiceService;
/** The unary RPCs (all but the WatchRequest stream). */
export type UnaryMethod = {
  [M in keyof Service]: Service[M]["responseStream"] extends false ? M : never;
}[keyof Service];
export type RequestOf<M extends UnaryMethod> = Parameters<Service[M]["requestSerialize"]>[0];
export type ResponseOf<M extends UnaryMethod> = ReturnType<Service[M]["responseDeserialize"]>;

export function connect(address: string): ProviderServiceClient {
  return new ProviderServiceClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
}

/** Sends `request` as encoded by `serialize` (the generated encoder, or raw bytes). */
function unary<Req, Res>(
  client: ProviderServiceClient,
  method: UnaryMethod,
  request: Req,
  serialize: (request: Req) => Buffer,
  deadlineMs: number,
): Promise<Outcome<Res>> {
  const definition = ProviderServiceService[method];
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      definition.path,
      serialize,
      definition.responseDeserialize as (bytes: Buffer) => Res,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        if (error) resolve({ ok: false, code: error.code, details: error.details });
        else resolve({ ok: true, value: response as Res });
      },
    );
  });
}

/** One call of `method`, settled with its answer or its status. */
export function call<M extends UnaryMethod>(
  client: ProviderServiceClient,
  method: M,
  request: RequestOf<M>,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Outcome<ResponseOf<M>>> {
  const serialize = ProviderServiceService[method].requestSerialize as (
    request: RequestOf<M>,
  ) => Buffer;
  return unary(client, method, request, serialize, deadlineMs);
}

/** One call of `method` whose request body is `bytes`, whatever they are. */
export function callWithBytes<M extends UnaryMethod>(
  client: ProviderServiceClient,
  method: M,
  bytes: Uint8Array,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Outcome<ResponseOf<M>>> {
  return unary(client, method, bytes, (raw) => Buffer.from(raw), deadlineMs);
}

/** Like call, for a call that must succeed. */
export async function callOk<M extends UnaryMethod>(
  client: ProviderServiceClient,
  method: M,
  request: RequestOf<M>,
  deadlineMs?: number,
): Promise<ResponseOf<M>> {
  const outcome = await call(client, method, request, deadlineMs);
  if (!outcome.ok) {
    throw new Error(`${method} failed: ${grpc.status[outcome.code]} ${outcome.details}`);
  }
  return outcome.value;
}

/** Follows WatchRequest to its end; resolves with every update, or the status that ended it. */
export function watchToEnd(
  client: ProviderServiceClient,
  requestId: string,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<Outcome<WatchRequestResponse[]>> {
  return new Promise((resolve) => {
    const updates: WatchRequestResponse[] = [];
    const stream = client.watchRequest({ requestId }, { deadline: Date.now() + deadlineMs });
    stream.on("data", (update: WatchRequestResponse) => updates.push(update));
    stream.on("end", () => resolve({ ok: true, value: updates }));
    stream.on("error", (error: grpc.ServiceError) =>
      resolve({ ok: false, code: error.code, details: error.details }),
    );
  });
}

/** The final status of a request, followed through WatchRequest; throws if it never ends. */
export async function finalStatus(
  client: ProviderServiceClient,
  requestId: string,
  deadlineMs?: number,
) {
  const outcome = await watchToEnd(client, requestId, deadlineMs);
  if (!outcome.ok) {
    throw new Error(
      `watching ${requestId} ended with ${grpc.status[outcome.code]} ${outcome.details}`,
    );
  }
  const last = outcome.value.at(-1)?.request;
  if (!last || last.status === RequestStatus.REQUEST_STATUS_RUNNING) {
    throw new Error(`watching ${requestId} ended before a final status`);
  }
  return last;
}
