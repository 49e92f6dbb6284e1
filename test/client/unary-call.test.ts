// The client's hand-written gRPC call, against grpc-js (the stub sidecar) and node:http2: large
// messages both ways across HTTP/2 flow control, status details as the server wrote them, and
// answers that are not gRPC.
import assert from "node:assert/strict";
import { createServer } from "node:http2";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { connectSidecar } from "../../client/connect.ts";
import { resolveSettings } from "../../client/settings.ts";
import { GRPC_STATUS, GrpcCallError, unaryCall } from "../../client/unary-call.ts";
import { type StubSidecar, startStubSidecar } from "./stub-sidecar.ts";

const settingsFor = (address: string) => resolveSettings({ address, timeout: "5" }, {});

describe("against grpc-js", () => {
  let stub: StubSidecar;
  const details = 'quota 100% used: "gpu" ✓ naïve\nsecond line';
  before(async () => {
    stub = await startStubSidecar({
      // Echoes every machine back, so the answer is as large as the request.
      getReturnRequests: (request) => ({
        message: "echo",
        requests: request.machines.map((machine) => ({
          machine: machine.name,
          machineId: machine.machineId,
          gracePeriod: 0,
          reason: "the pod no longer exists",
        })),
      }),
      requestMachines: { fail: status.RESOURCE_EXHAUSTED, details },
    });
  });
  after(() => stub.close());

  test("a 2 MB request and a 4 MB answer cross the flow-control windows intact", async () => {
    const machines = Array.from({ length: 40_000 }, (_, i) => ({
      name: `hf-req-0123456789-${i}`,
      machineId: `0b7e6a52-3c1d-4f0e-9a8b-${String(i).padStart(12, "0")}`,
    }));
    const sidecar = connectSidecar(settingsFor(stub.address));
    const answer = await sidecar.call("getReturnRequests", { machines });
    assert.equal(answer.requests.length, machines.length);
    assert.deepEqual(answer.requests.at(-1)?.machine, machines.at(-1)?.name);
  });

  test("grpc-message comes back as the server wrote it", async () => {
    const sidecar = connectSidecar(settingsFor(stub.address));
    await assert.rejects(
      sidecar.call("requestMachines", { templateId: "t", machineCount: 1, rcAccount: "" }),
      (error: Error) => error.message === details,
    );
  });
});

describe("answers that are not gRPC", () => {
  const server = createServer();
  let port = 0;
  before(async () => {
    server.on("stream", (stream, headers) => {
      if (headers[":path"]?.endsWith("/Overloaded")) stream.respond({ ":status": 503 });
      else if (headers[":path"]?.endsWith("/Html"))
        stream.respond({ ":status": 200, "content-type": "text/html" });
      else stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  const callPath = async (path: string) => {
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    return unaryCall({
      socket,
      path,
      authority: `127.0.0.1:${port}`,
      scheme: "http",
      message: new Uint8Array(),
      deadline: Date.now() + 5_000,
      maxResponseBytes: 1024,
    });
  };
  const rejectsWith = (path: string, code: number, message: RegExp) =>
    assert.rejects(
      callPath(path),
      (error) =>
        error instanceof GrpcCallError && error.code === code && message.test(error.details),
    );

  test("HTTP 503 is UNAVAILABLE", () =>
    rejectsWith("/x/Overloaded", GRPC_STATUS.UNAVAILABLE, /HTTP status code 503/));
  test("another content type is UNKNOWN", () =>
    rejectsWith("/x/Html", GRPC_STATUS.UNKNOWN, /content-type "text\/html"/));
  test("an answer without trailers is INTERNAL", () =>
    rejectsWith("/x/Empty", GRPC_STATUS.INTERNAL, /without trailers|without a grpc-status/));
});
