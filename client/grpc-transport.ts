// The client's gRPC calls, on node:http2: the unary calls of HostFactory's operations and of the
// admin commands, and the server stream `hostfactory watch` follows. Each call opens a connection
// of its own and closes it: a script makes one call per process, an admin command a handful.
// The wire format is gRPC's PROTOCOL-HTTP2: a POST of content-type application/grpc, each message
// behind a 5-byte prefix (a compressed flag, then the length), the status in the grpc-status
// trailer (or, for a call that fails at once, in the only headers: "Trailers-Only").
import {
  type ClientHttp2Session,
  type ClientSessionOptions,
  connect,
  constants,
  type IncomingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { connect as connectNet, type Socket } from "node:net";
import { GRPC_STATUS, GrpcCallError } from "./grpc-status.ts";

export interface TransportOptions {
  /** `unix:/path/to.sock` or `host:port` (Address.target). */
  target: string;
  /** TLS, with its files already read; undefined for plain HTTP/2 (a Unix socket, --insecure). */
  tls?: TlsCredentials;
  /** An answer with a message larger than this fails with RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
}

export interface TlsCredentials {
  /** Default: the system's CAs. */
  ca?: Buffer;
  /** Client certificate and key, for mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
  /** The name the server's certificate must carry; default the target's host (none for an IP). */
  serverName?: string;
}

export interface GrpcTransport {
  /** Resolves with the one answer message; rejects with a GrpcCallError. */
  unary(path: string, request: Uint8Array, deadline: number): Promise<Buffer>;
  /**
   * Calls `onMessage` for each message the server streams; resolves when it ends the call with
   * OK, rejects with a GrpcCallError. No deadline when `deadline` is undefined.
   */
  serverStream(
    path: string,
    request: Uint8Array,
    onMessage: (message: Buffer) => void,
    deadline?: number,
  ): Promise<void>;
}

/** How a call ended: a gRPC status code and its details. */
interface CallStatus {
  code: number;
  details: string;
}

/** gRPC's length prefix: a compressed flag and a 4-byte length. */
const MESSAGE_PREFIX_BYTES = 5;
/** grpc-timeout takes at most 8 digits. */
const MAX_TIMEOUT_DIGITS = 99_999_999;
/** The largest flow-control window: the server never waits for this client to read. */
const MAX_WINDOW = 2 ** 31 - 1;
/** What grpc-js gives as the authority of a Unix socket. */
const UNIX_AUTHORITY = "localhost";

export function createGrpcTransport(options: TransportOptions): GrpcTransport {
  return {
    async unary(path, request, deadline) {
      const messages: Buffer[] = [];
      await invoke(options, path, request, deadline, (message) => messages.push(message));
      const [message] = messages;
      if (message === undefined || messages.length > 1) {
        throw new GrpcCallError(
          GRPC_STATUS.INTERNAL,
          `a unary call answered with ${messages.length} messages`,
        );
      }
      return message;
    },
    serverStream(path, request, onMessage, deadline) {
      return invoke(options, path, request, deadline, onMessage);
    },
  };
}

/** The connection: a Unix socket, plain TCP or TLS with ALPN h2. */
function openSession(options: TransportOptions): ClientHttp2Session {
  const settings: ClientSessionOptions["settings"] = {
    enablePush: false,
    initialWindowSize: MAX_WINDOW,
  };
  if (options.target.startsWith("unix:")) {
    const socketPath = options.target.slice("unix:".length);
    return connect(`http://${UNIX_AUTHORITY}`, {
      settings,
      createConnection: () => connectNet(socketPath),
    });
  }
  if (!options.tls) return connect(`http://${options.target}`, { settings });
  const { ca, cert, key, serverName } = options.tls;
  const tls: SecureClientSessionOptions = { settings };
  if (ca) tls.ca = ca;
  if (cert && key) Object.assign(tls, { cert, key });
  // node:http2 sends the host as SNI and checks the certificate against it, unless told a name.
  if (serverName) tls.servername = serverName;
  return connect(`https://${options.target}`, tls);
}

function invoke(
  options: TransportOptions,
  path: string,
  request: Uint8Array,
  deadline: number | undefined,
  onMessage: (message: Buffer) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = openSession(options);
    const reader = createMessageReader(options.maxMessageBytes, onMessage);
    let connected = false;
    let settled = false;
    /** From the response headers. */
    let httpStatus: number | undefined;
    let contentType = "";
    /** From the trailers, or the response headers of a Trailers-Only answer. */
    let status: CallStatus | undefined;
    /** Why the connection failed, when it did. */
    let connectionError: Error | undefined;
    /** The connection under the session, once it is up. */
    let socket: Socket | undefined;

    const finish = (error?: GrpcCallError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      hangUp();
      if (error) reject(error);
      else resolve();
    };
    /**
     * Ends the connection without a GOAWAY: closes the socket first, so that session.destroy()
     * (which sends one on a live socket, as session.close() does) has nothing left to write to.
     * A GOAWAY reaching the sidecar on Deno 2.9 can abort it (the find_stream_on_goaway
     * assertion: Deno's node:http2 server seems to free the nghttp2 session while nghttp2 still
     * handles that frame; README, "On Deno"). A socket that just closes is an end of file.
     */
    const hangUp = () => {
      socket?.destroy();
      session.destroy();
    };
    const fail = (code: number, details: string, cause?: unknown) =>
      finish(new GrpcCallError(code, details, { cause }));
    const finishWith = ({ code, details }: CallStatus) => {
      if (code !== GRPC_STATUS.OK) fail(code, details);
      else if (reader.partial)
        fail(GRPC_STATUS.INTERNAL, "the answer ended partway through a message");
      else finish();
    };
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(
            () => fail(GRPC_STATUS.DEADLINE_EXCEEDED, "Deadline exceeded"),
            Math.max(0, deadline - Date.now()),
          );

    session.on("connect", (_session, connection) => {
      connected = true;
      socket = connection;
      if (options.tls && session.alpnProtocol !== "h2") {
        const agreed = session.alpnProtocol ? `"${session.alpnProtocol}"` : "nothing";
        fail(
          GRPC_STATUS.UNAVAILABLE,
          `the server does not speak HTTP/2 over TLS (ALPN agreed on ${agreed})`,
        );
        return;
      }
      session.setLocalWindowSize(MAX_WINDOW);
    });
    session.on("error", (error) => {
      connectionError = error;
      fail(GRPC_STATUS.UNAVAILABLE, connectionLost(error, connected), error);
    });

    const headers: Record<string, string> = {
      ":method": "POST",
      ":path": path,
      ":authority": options.target.startsWith("unix:") ? UNIX_AUTHORITY : options.target,
      "content-type": "application/grpc",
      te: "trailers",
    };
    if (deadline !== undefined) headers["grpc-timeout"] = timeoutHeader(deadline - Date.now());
    const stream = session.request(headers);
    const prefix = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES);
    prefix[0] = 0;
    prefix.writeUInt32BE(request.length, 1);
    stream.end(Buffer.concat([prefix, request]));

    const onStatus = (fields: IncomingHttpHeaders) => {
      status ??= statusOf(fields, httpStatus, contentType, {
        code: GRPC_STATUS.UNKNOWN,
        details: "the answer ended without a grpc-status",
      });
    };
    /** Body read before the response headers: Deno 2.9's node:http2 can emit "data" first. */
    const early: Buffer[] = [];
    const read = (chunk: Buffer) => {
      // A body that is not gRPC (an HTML error page) is not read: the status says what happened.
      if (settled || httpStatus !== 200 || !isGrpc(contentType)) return;
      try {
        reader.push(chunk);
      } catch (error) {
        if (!(error instanceof GrpcCallError)) throw error;
        finish(error);
      }
    };
    stream.on("response", (fields, flags) => {
      httpStatus = Number(fields[":status"]);
      contentType = String(fields["content-type"] ?? "");
      for (const chunk of early.splice(0)) read(chunk);
      if (flags & constants.NGHTTP2_FLAG_END_STREAM) onStatus(fields);
    });
    stream.on("trailers", onStatus);
    stream.on("data", (chunk: Buffer) => {
      if (httpStatus === undefined) early.push(chunk);
      else read(chunk);
    });
    // Every message is read by "end"; the trailers came before it.
    stream.on("end", () => {
      if (status) finishWith(status);
    });
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // A reset by the server comes as ERR_HTTP2_STREAM_ERROR, and "close" has its code; a
      // stream cancelled because the connection failed carries that failure as its cause.
      if (error.code === "ERR_HTTP2_STREAM_ERROR") return;
      connectionError ??=
        error.code === "ERR_HTTP2_STREAM_CANCEL" && error.cause instanceof Error
          ? error.cause
          : error;
    });
    stream.on("close", () => {
      if (status) {
        finishWith(status);
      } else if (connectionError) {
        fail(GRPC_STATUS.UNAVAILABLE, connectionLost(connectionError, connected), connectionError);
      } else if (session.destroyed) {
        fail(GRPC_STATUS.UNAVAILABLE, "the connection closed before the answer");
      } else if (stream.rstCode === constants.NGHTTP2_NO_ERROR) {
        finishWith(
          statusOf({}, httpStatus, contentType, {
            code: GRPC_STATUS.INTERNAL,
            details: "the answer ended without trailers",
          }),
        );
      } else {
        finishWith(statusOfReset(stream.rstCode));
      }
    });
  });
}

function connectionLost(error: Error, connected: boolean): string {
  return connected
    ? `connection lost: ${error.message}`
    : `No connection established. Last error: ${error.message}`;
}

function isGrpc(contentType: string): boolean {
  return contentType.startsWith("application/grpc");
}

/**
 * The call's status: grpc-status when the server sent one, else what the HTTP status means to
 * gRPC (as grpc-js reads it), else what is wrong with an answer that is not gRPC, else `missing`.
 */
function statusOf(
  fields: IncomingHttpHeaders,
  httpStatus: number | undefined,
  contentType: string,
  missing: CallStatus,
): CallStatus {
  const grpcStatus = fields["grpc-status"];
  if (grpcStatus !== undefined) {
    const text = String(grpcStatus);
    if (!/^\d+$/.test(text)) {
      return {
        code: GRPC_STATUS.UNKNOWN,
        details: `malformed grpc-status ${JSON.stringify(text)}`,
      };
    }
    return { code: Number(text), details: decodeGrpcMessage(String(fields["grpc-message"] ?? "")) };
  }
  if (httpStatus === undefined) return missing;
  if (httpStatus !== 200) return httpStatusOf(httpStatus);
  if (!isGrpc(contentType)) {
    return {
      code: GRPC_STATUS.UNKNOWN,
      details: `unexpected content-type ${JSON.stringify(contentType)}`,
    };
  }
  return missing;
}

/** An HTTP status other than 200 as a gRPC status (gRPC's "http-grpc-status-mapping"). */
function httpStatusOf(httpStatus: number): CallStatus {
  const details = `Received HTTP status code ${httpStatus}`;
  if (httpStatus === 400) return { code: GRPC_STATUS.INTERNAL, details };
  if (httpStatus === 401) return { code: GRPC_STATUS.UNAUTHENTICATED, details };
  if (httpStatus === 403) return { code: GRPC_STATUS.PERMISSION_DENIED, details };
  if (httpStatus === 404) return { code: GRPC_STATUS.UNIMPLEMENTED, details };
  if ([429, 502, 503, 504].includes(httpStatus)) return { code: GRPC_STATUS.UNAVAILABLE, details };
  return { code: GRPC_STATUS.UNKNOWN, details };
}

/** A stream the server reset, by its RST_STREAM code (PROTOCOL-HTTP2 "Errors"). */
function statusOfReset(rstCode: number): CallStatus {
  const status = (code: number, details: string) => ({ code, details });
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return status(GRPC_STATUS.UNAVAILABLE, "the server refused the stream");
    case constants.NGHTTP2_CANCEL:
      return status(GRPC_STATUS.CANCELLED, "the server cancelled the call");
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return status(GRPC_STATUS.RESOURCE_EXHAUSTED, "the server is overloaded (ENHANCE_YOUR_CALM)");
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return status(GRPC_STATUS.PERMISSION_DENIED, "the connection is not secure enough");
    default:
      return status(GRPC_STATUS.INTERNAL, `stream reset by the server (HTTP/2 error ${rstCode})`);
  }
}

function timeoutHeader(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole <= MAX_TIMEOUT_DIGITS ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

/** grpc-message is percent-encoded UTF-8. */
function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Splits a response body into gRPC messages, however its DATA frames cut it. */
function createMessageReader(maxMessageBytes: number, onMessage: (message: Buffer) => void) {
  let chunks: Buffer[] = [];
  let buffered = 0;
  /** The length of the message being read, once its prefix is in. */
  let length: number | undefined;
  const joined = (): Buffer => {
    if (chunks.length > 1) chunks = [Buffer.concat(chunks, buffered)];
    return chunks[0] as Buffer;
  };
  return {
    push(chunk: Buffer): void {
      chunks.push(chunk);
      buffered += chunk.length;
      for (;;) {
        if (length === undefined) {
          if (buffered < MESSAGE_PREFIX_BYTES) return;
          const data = joined();
          if (data[0] !== 0) {
            throw new GrpcCallError(
              GRPC_STATUS.INTERNAL,
              "the answer is compressed, which this client never asks for",
            );
          }
          length = data.readUInt32BE(1);
          if (length > maxMessageBytes) {
            throw new GrpcCallError(
              GRPC_STATUS.RESOURCE_EXHAUSTED,
              `the answer is larger than ${maxMessageBytes} bytes`,
            );
          }
        }
        if (buffered < MESSAGE_PREFIX_BYTES + length) return;
        const data = joined();
        onMessage(data.subarray(MESSAGE_PREFIX_BYTES, MESSAGE_PREFIX_BYTES + length));
        const rest = data.subarray(MESSAGE_PREFIX_BYTES + length);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        length = undefined;
      }
    },
    /** True when the body stopped partway through a message. */
    get partial(): boolean {
      return buffered > 0;
    },
  };
}
