// The client's gRPC transport on node:http2, against grpc-js (the stub sidecar) and against a
// node:http2 server that answers whatever a test needs: large messages both ways across HTTP/2
// flow control, the status from grpc-status first and from the HTTP status only without one,
// resets, dropped connections, deadlines, answers too large or malformed, TLS without h2.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { after, before, describe, test } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { fileURLToPath } from "node:url";
import { status } from "@grpc/grpc-js";
import { connectSidecar } from "../../client/connect.ts";
import { GRPC_STATUS, GrpcCallError, statusName } from "../../client/grpc-status.ts";
import { createGrpcTransport } from "../../client/grpc-transport.ts";
import { resolveSettings } from "../../client/settings.ts";
import { type StubSidecar, startStubSidecar } from "./stub-sidecar.ts";

const settingsFor = (address: string) => resolveSettings({ address, timeout: "5" }, {});
const tlsFile = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/client/tls/${name}`, import.meta.url)));

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

/** The 5-byte prefix gRPC puts before a message: a compressed flag and the length. */
function framed(message: Buffer, { flag = 0, length = message.length } = {}): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, message]);
}

/** Answers with `body` (written in `pieces` parts, each its own DATA frame) and these trailers. */
function answer(
  stream: ServerHttp2Stream,
  body: Buffer,
  trailers: OutgoingHttpHeaders = { "grpc-status": "0" },
  pieces = 1,
) {
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers(trailers));
  const size = Math.ceil(body.length / pieces);
  for (let at = 0; at < body.length; at += size) stream.write(body.subarray(at, at + size));
  stream.end();
}

describe("a node:http2 server answering as each test needs", () => {
  const server = createServer();
  /** What the server does for a method (the last part of the path). */
  const behaviours = new Map<string, (stream: ServerHttp2Stream) => void>();
  const requestHeaders: IncomingHttpHeaders[] = [];
  let target = "";
  before(async () => {
    server.on("stream", (stream, headers) => {
      requestHeaders.push(headers);
      stream.on("error", () => {});
      const method = String(headers[":path"]).split("/").pop() ?? "";
      const behaviour = behaviours.get(method);
      if (behaviour) behaviour(stream);
      else stream.respond({ ":status": 404 }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    target = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => server.close());

  let methods = 0;
  /** A method of its own for this behaviour; resolves to its path. */
  const serve = (behaviour: (stream: ServerHttp2Stream) => void) => {
    const method = `M${++methods}`;
    behaviours.set(method, behaviour);
    return `/test.Service/${method}`;
  };
  const transport = (maxMessageBytes = 1024) => createGrpcTransport({ target, maxMessageBytes });
  const call = (path: string, deadline = Date.now() + 5_000) =>
    transport().unary(path, Buffer.from("request"), deadline);
  const rejectsWith = (path: string, code: number, details: RegExp | string) =>
    assert.rejects(call(path), (error) => {
      assert.ok(error instanceof GrpcCallError, String(error));
      assert.equal(statusName(error.code), statusName(code), error.details);
      if (typeof details === "string") assert.equal(error.details, details);
      else assert.match(error.details, details);
      return true;
    });

  test("a unary call sends one framed message and the headers gRPC needs", async () => {
    let received = Buffer.alloc(0);
    const path = serve((stream) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        received = Buffer.concat(chunks);
        answer(stream, framed(Buffer.from("answer")));
      });
    });
    const before = requestHeaders.length;
    const message = await call(path, Date.now() + 3_000);
    assert.equal(Buffer.from(message).toString(), "answer");
    assert.deepEqual(received, framed(Buffer.from("request")));
    const headers = requestHeaders[before] as IncomingHttpHeaders;
    assert.equal(headers[":method"], "POST");
    assert.equal(headers["content-type"], "application/grpc");
    assert.equal(headers.te, "trailers");
    assert.equal(headers[":authority"], target);
    const timeout = /^(\d+)m$/.exec(String(headers["grpc-timeout"]));
    assert.ok(timeout && Number(timeout[1]) > 2_500 && Number(timeout[1]) <= 3_000, "grpc-timeout");
  });

  test("a server stream's messages arrive in order, however the DATA frames cut them", async () => {
    const messages = ["first", "", "third message, longer than the rest"].map((m) =>
      Buffer.from(m),
    );
    const path = serve((stream) =>
      answer(stream, Buffer.concat(messages.map((m) => framed(m))), undefined, 13),
    );
    const got: string[] = [];
    await transport().serverStream(path, Buffer.alloc(0), (message) =>
      got.push(Buffer.from(message).toString()),
    );
    assert.deepEqual(got, messages.map(String));
  });

  describe("the status: grpc-status first, the HTTP status only without one", () => {
    test("grpc-status and a percent-encoded grpc-message from the trailers", () =>
      rejectsWith(
        serve((stream) =>
          answer(stream, Buffer.alloc(0), {
            "grpc-status": String(GRPC_STATUS.NOT_FOUND),
            "grpc-message": "template%20'gpu'%20not%20found%3A%20100%25%20%E2%9C%93",
          }),
        ),
        GRPC_STATUS.NOT_FOUND,
        "template 'gpu' not found: 100% ✓",
      ));
    test("grpc-status in a Trailers-Only answer wins over its HTTP status", () =>
      rejectsWith(
        serve((stream) =>
          stream.respond(
            {
              ":status": 503,
              "content-type": "application/grpc",
              "grpc-status": String(GRPC_STATUS.RESOURCE_EXHAUSTED),
              "grpc-message": "busy",
            },
            { endStream: true },
          ),
        ),
        GRPC_STATUS.RESOURCE_EXHAUSTED,
        "busy",
      ));
    const httpStatuses: [number, number][] = [
      [400, GRPC_STATUS.INTERNAL],
      [401, GRPC_STATUS.UNAUTHENTICATED],
      [403, GRPC_STATUS.PERMISSION_DENIED],
      [404, GRPC_STATUS.UNIMPLEMENTED],
      [429, GRPC_STATUS.UNAVAILABLE],
      [502, GRPC_STATUS.UNAVAILABLE],
      [503, GRPC_STATUS.UNAVAILABLE],
      [504, GRPC_STATUS.UNAVAILABLE],
      [500, GRPC_STATUS.UNKNOWN],
    ];
    for (const [httpStatus, code] of httpStatuses) {
      test(`HTTP ${httpStatus} without grpc-status is ${statusName(code)}`, () =>
        rejectsWith(
          serve((stream) => {
            stream.respond({ ":status": httpStatus, "content-type": "text/html" });
            stream.end("<html><body>an error page, not a gRPC message</body></html>");
          }),
          code,
          `Received HTTP status code ${httpStatus}`,
        ));
    }
    test("another content type is UNKNOWN", () =>
      rejectsWith(
        serve((stream) => {
          stream.respond({ ":status": 200, "content-type": "text/html" });
          stream.end("<html>");
        }),
        GRPC_STATUS.UNKNOWN,
        /content-type "text\/html"/,
      ));
    test("an answer without trailers is INTERNAL", () =>
      rejectsWith(
        serve((stream) => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" });
          stream.end(framed(Buffer.from("answer")));
        }),
        GRPC_STATUS.INTERNAL,
        /without trailers/,
      ));
    test("trailers without grpc-status are UNKNOWN", () =>
      rejectsWith(
        serve((stream) => answer(stream, framed(Buffer.from("answer")), { "x-other": "1" })),
        GRPC_STATUS.UNKNOWN,
        /without a grpc-status/,
      ));
    test("a grpc-status that is not a number is UNKNOWN", () =>
      rejectsWith(
        serve((stream) => answer(stream, Buffer.alloc(0), { "grpc-status": "OK" })),
        GRPC_STATUS.UNKNOWN,
        /malformed grpc-status "OK"/,
      ));
  });

  describe("answers too large or malformed", () => {
    test("a message larger than the limit is RESOURCE_EXHAUSTED", () =>
      rejectsWith(
        serve((stream) => answer(stream, framed(Buffer.alloc(1025)))),
        GRPC_STATUS.RESOURCE_EXHAUSTED,
        "the answer is larger than 1024 bytes",
      ));
    test("a message at the limit is read", async () => {
      const path = serve((stream) => answer(stream, framed(Buffer.alloc(1024, 7)), undefined, 3));
      assert.equal((await call(path)).length, 1024);
    });
    test("a compressed message is INTERNAL: this client never asks for one", () =>
      rejectsWith(
        serve((stream) => answer(stream, framed(Buffer.from("zip"), { flag: 1 }))),
        GRPC_STATUS.INTERNAL,
        /compressed/,
      ));
    test("a body that ends partway through a message is INTERNAL", () =>
      rejectsWith(
        serve((stream) => answer(stream, framed(Buffer.from("short"), { length: 50 }))),
        GRPC_STATUS.INTERNAL,
        /partway through a message/,
      ));
    test("two messages for a unary call are INTERNAL", () =>
      rejectsWith(
        serve((stream) =>
          answer(stream, Buffer.concat([framed(Buffer.from("a")), framed(Buffer.from("b"))])),
        ),
        GRPC_STATUS.INTERNAL,
        /2 messages/,
      ));
    test("no message for a unary call is INTERNAL", () =>
      rejectsWith(
        serve((stream) => answer(stream, Buffer.alloc(0))),
        GRPC_STATUS.INTERNAL,
        /0 messages/,
      ));
  });

  describe("resets and lost connections", () => {
    const resets: [number, number][] = [
      [constants.NGHTTP2_REFUSED_STREAM, GRPC_STATUS.UNAVAILABLE],
      [constants.NGHTTP2_CANCEL, GRPC_STATUS.CANCELLED],
      [constants.NGHTTP2_ENHANCE_YOUR_CALM, GRPC_STATUS.RESOURCE_EXHAUSTED],
      [constants.NGHTTP2_INADEQUATE_SECURITY, GRPC_STATUS.PERMISSION_DENIED],
      [constants.NGHTTP2_PROTOCOL_ERROR, GRPC_STATUS.INTERNAL],
    ];
    for (const [rstCode, code] of resets) {
      test(`RST_STREAM ${rstCode} is ${statusName(code)}`, () =>
        rejectsWith(
          serve((stream) => stream.close(rstCode)),
          code,
          /./,
        ));
    }
    test("a connection the server drops mid-call is UNAVAILABLE", () =>
      rejectsWith(
        serve((stream) => stream.session?.socket.destroy()),
        GRPC_STATUS.UNAVAILABLE,
        /connection closed before the answer/,
      ));
    test("nobody listening is UNAVAILABLE", () =>
      assert.rejects(
        createGrpcTransport({ target: "unix:/nonexistent/nobody.sock", maxMessageBytes: 1 }).unary(
          "/x/Y",
          Buffer.alloc(0),
          Date.now() + 5_000,
        ),
        (error) =>
          error instanceof GrpcCallError &&
          error.code === GRPC_STATUS.UNAVAILABLE &&
          /No connection established. Last error: connect ENOENT/.test(error.details),
      ));
  });

  test("the deadline: DEADLINE_EXCEEDED when it passes, the call abandoned", async () => {
    let closed: Promise<void> = Promise.resolve();
    const path = serve((stream) => {
      closed = new Promise((resolve) => stream.on("close", () => resolve()));
    });
    const started = performance.now();
    await assert.rejects(
      call(path, Date.now() + 300),
      (error) =>
        error instanceof GrpcCallError &&
        error.code === GRPC_STATUS.DEADLINE_EXCEEDED &&
        error.details === "Deadline exceeded",
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290, `gave up after ${elapsed} ms, before the deadline`);
    // The server sees the call end: nothing is left open.
    await closed;
  });
});

test("TLS to a server that does not agree on h2 is UNAVAILABLE, naming what ALPN agreed", async () => {
  const server = createTlsServer(
    { key: tlsFile("server.key"), cert: tlsFile("server.pem") },
    (socket) => socket.on("error", () => {}),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const transport = createGrpcTransport({
      target: `127.0.0.1:${(server.address() as { port: number }).port}`,
      tls: { ca: tlsFile("ca.pem"), serverName: "sidecar.test" },
      maxMessageBytes: 1024,
    });
    await assert.rejects(
      transport.unary("/x/Y", Buffer.alloc(0), Date.now() + 5_000),
      (error) =>
        error instanceof GrpcCallError &&
        error.code === GRPC_STATUS.UNAVAILABLE &&
        error.details === "the server does not speak HTTP/2 over TLS (ALPN agreed on nothing)",
    );
  } finally {
    server.close();
  }
});
