// One gRPC unary call over one HTTP/2 connection, written out by hand over a socket: the client
// lives for a single call, and loading node:http2 (which loads node:tls) or grpc-js would cost
// more than everything else it does. The wire format is small: a connection preface and SETTINGS,
// a HEADERS frame, the request as one length-prefixed message in DATA frames, then the answer's
// HEADERS, DATA and trailers (grpc-status, grpc-message). See the gRPC "PROTOCOL-HTTP2" document
// and RFC 9113.
import type { Duplex } from "node:stream";
import { createHpackDecoder, encodeHeaders, type Header } from "./hpack.ts";

/** gRPC status codes, by number (the wire form) and by name. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatus = (typeof GRPC_STATUS)[keyof typeof GRPC_STATUS];

export function statusName(code: number): string {
  return Object.entries(GRPC_STATUS).find(([, value]) => value === code)?.[0] ?? `code ${code}`;
}

/** A call that ended without an answer: the gRPC status and its details, as a server gives them. */
export class GrpcCallError extends Error {
  override readonly name = "GrpcCallError";
  readonly code: number;
  readonly details: string;
  constructor(code: number, details: string, options?: { cause?: unknown }) {
    super(`${statusName(code)}: ${details}`, options);
    this.code = code;
    this.details = details;
  }
}

export interface UnaryCall {
  /** A connected socket to the server; the call owns it and ends it. */
  socket: Duplex;
  /** e.g. /hostfactory.v1.ProviderService/GetRequestStatus */
  path: string;
  authority: string;
  scheme: "http" | "https";
  /** The serialized request message. */
  message: Uint8Array;
  /** Epoch milliseconds after which the call fails with DEADLINE_EXCEEDED. */
  deadline: number;
  /** Refuse answers larger than this. */
  maxResponseBytes: number;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const FRAME_HEADER_BYTES = 9;
const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const SETTING = { ENABLE_PUSH: 0x2, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5 } as const;
/** The largest flow-control window: the server never has to wait for us to read. */
const MAX_WINDOW = 2 ** 31 - 1;
/** Both ends start with these (RFC 9113 §6.5.2, §6.9.2). */
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME_SIZE = 16_384;
const STREAM_ID = 1;
/** gRPC's length-prefixed message: compressed flag and a 4-byte length. */
const MESSAGE_HEADER_BYTES = 5;
/** grpc-timeout takes at most 8 digits. */
const MAX_TIMEOUT_DIGITS = 99_999_999;

/** RST_STREAM codes as gRPC reads them (PROTOCOL-HTTP2 "Errors"). */
function statusOfReset(errorCode: number): number {
  if (errorCode === 0x7) return GRPC_STATUS.UNAVAILABLE; // REFUSED_STREAM
  if (errorCode === 0x8) return GRPC_STATUS.CANCELLED; // CANCEL
  if (errorCode === 0xb) return GRPC_STATUS.RESOURCE_EXHAUSTED; // ENHANCE_YOUR_CALM
  if (errorCode === 0xc) return GRPC_STATUS.PERMISSION_DENIED; // INADEQUATE_SECURITY
  return GRPC_STATUS.INTERNAL;
}

/** An HTTP status other than 200 as a gRPC status (gRPC's "http-grpc-status-mapping"). */
function statusOfHttp(httpStatus: number): number {
  if (httpStatus === 400) return GRPC_STATUS.INTERNAL;
  if (httpStatus === 401) return GRPC_STATUS.UNAUTHENTICATED;
  if (httpStatus === 403) return GRPC_STATUS.PERMISSION_DENIED;
  if (httpStatus === 404) return GRPC_STATUS.UNIMPLEMENTED;
  if ([429, 502, 503, 504].includes(httpStatus)) return GRPC_STATUS.UNAVAILABLE;
  return GRPC_STATUS.UNKNOWN;
}

function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function settingsPayload(settings: [number, number][]): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return payload;
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

/** Makes the call; resolves with the response message, rejects with a GrpcCallError. */
export function unaryCall(call: UnaryCall): Promise<Uint8Array> {
  const { socket } = call;
  return new Promise((resolve, reject) => {
    const decoder = createHpackDecoder();
    let inbound: Buffer = Buffer.alloc(0);
    let headerBlock: Buffer[] | undefined;
    let headerBlockEndsStream = false;
    let responseHeaders: Map<string, string> | undefined;
    const body: Buffer[] = [];
    let bodyBytes = 0;
    let sendWindow = DEFAULT_WINDOW;
    let connectionSendWindow = DEFAULT_WINDOW;
    let maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
    let outbound: Buffer = Buffer.alloc(0);
    let settled = false;

    const finish = (error: GrpcCallError | undefined, message?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(message as Uint8Array);
    };
    const fail = (code: number, details: string, cause?: unknown) =>
      finish(new GrpcCallError(code, details, { cause }));
    const timer = setTimeout(
      () => fail(GRPC_STATUS.DEADLINE_EXCEEDED, "Deadline exceeded"),
      Math.max(0, call.deadline - Date.now()),
    );

    /** Sends as much of the request body as the windows and the frame size allow. */
    const pump = () => {
      while (outbound.length > 0) {
        const size = Math.min(outbound.length, maxFrameSize, sendWindow, connectionSendWindow);
        if (size <= 0) return;
        const last = size === outbound.length;
        socket.write(
          frame(FRAME.DATA, last ? FLAG.END_STREAM : 0, STREAM_ID, outbound.subarray(0, size)),
        );
        outbound = outbound.subarray(size);
        sendWindow -= size;
        connectionSendWindow -= size;
      }
    };

    const start = () => {
      const prefix = Buffer.allocUnsafe(MESSAGE_HEADER_BYTES);
      prefix[0] = 0;
      prefix.writeUInt32BE(call.message.length, 1);
      outbound = Buffer.concat([prefix, call.message]);
      const headers: Header[] = [
        [":method", "POST"],
        [":scheme", call.scheme],
        [":path", call.path],
        [":authority", call.authority],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["grpc-timeout", timeoutHeader(call.deadline - Date.now())],
      ];
      const windowIncrement = Buffer.allocUnsafe(4);
      windowIncrement.writeUInt32BE(MAX_WINDOW - DEFAULT_WINDOW);
      socket.write(
        Buffer.concat([
          PREFACE,
          frame(
            FRAME.SETTINGS,
            0,
            0,
            settingsPayload([
              [SETTING.ENABLE_PUSH, 0],
              [SETTING.INITIAL_WINDOW_SIZE, MAX_WINDOW],
            ]),
          ),
          frame(FRAME.WINDOW_UPDATE, 0, 0, windowIncrement),
          frame(FRAME.HEADERS, FLAG.END_HEADERS, STREAM_ID, encodeHeaders(headers)),
        ]),
      );
      pump();
    };

    const onHeaderBlock = (block: Buffer, endStream: boolean) => {
      const decoded = new Map(decoder.decode(block));
      if (!responseHeaders) {
        responseHeaders = decoded;
        const httpStatus = Number(decoded.get(":status"));
        if (httpStatus !== 200) {
          fail(statusOfHttp(httpStatus), `Received HTTP status code ${httpStatus}`);
          return;
        }
        const contentType = decoded.get("content-type") ?? "";
        if (!contentType.startsWith("application/grpc")) {
          fail(GRPC_STATUS.UNKNOWN, `unexpected content-type ${JSON.stringify(contentType)}`);
          return;
        }
        // Trailers-Only: the status came with the headers (an error, usually).
        if (endStream) onTrailers(decoded);
        return;
      }
      onTrailers(decoded);
    };

    const onTrailers = (trailers: Map<string, string>) => {
      const code = Number(trailers.get("grpc-status") ?? Number.NaN);
      const details = decodeGrpcMessage(trailers.get("grpc-message") ?? "");
      if (!Number.isInteger(code)) {
        fail(GRPC_STATUS.UNKNOWN, "the answer ended without a grpc-status");
      } else if (code !== GRPC_STATUS.OK) {
        fail(code, details);
      } else {
        const data = Buffer.concat(body);
        if (data.length < MESSAGE_HEADER_BYTES) {
          fail(GRPC_STATUS.INTERNAL, "the answer holds no message");
        } else if (data[0] !== 0) {
          fail(GRPC_STATUS.INTERNAL, "the answer is compressed, which this client never asks for");
        } else if (data.readUInt32BE(1) !== data.length - MESSAGE_HEADER_BYTES) {
          fail(GRPC_STATUS.INTERNAL, "the answer holds other than exactly one message");
        } else {
          finish(undefined, data.subarray(MESSAGE_HEADER_BYTES));
        }
      }
    };

    const onFrame = (type: number, flags: number, streamId: number, payload: Buffer) => {
      switch (type) {
        case FRAME.SETTINGS: {
          if (flags & FLAG.ACK) return;
          for (let at = 0; at + 6 <= payload.length; at += 6) {
            const id = payload.readUInt16BE(at);
            const value = payload.readUInt32BE(at + 2);
            if (id === SETTING.INITIAL_WINDOW_SIZE) {
              sendWindow += value - DEFAULT_WINDOW;
            } else if (id === SETTING.MAX_FRAME_SIZE) {
              maxFrameSize = value;
            }
          }
          socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
          pump();
          return;
        }
        case FRAME.PING:
          if (!(flags & FLAG.ACK)) socket.write(frame(FRAME.PING, FLAG.ACK, 0, payload));
          return;
        case FRAME.WINDOW_UPDATE: {
          const increment = payload.readUInt32BE(0) & MAX_WINDOW;
          if (streamId === 0) connectionSendWindow += increment;
          else if (streamId === STREAM_ID) sendWindow += increment;
          pump();
          return;
        }
        case FRAME.GOAWAY: {
          const lastStreamId = payload.readUInt32BE(0) & MAX_WINDOW;
          // A server going away still finishes the streams it accepted.
          if (lastStreamId < STREAM_ID) {
            fail(GRPC_STATUS.UNAVAILABLE, "the server is going away (GOAWAY before the call)");
          }
          return;
        }
        case FRAME.RST_STREAM:
          if (streamId === STREAM_ID) {
            const errorCode = payload.readUInt32BE(0);
            fail(
              statusOfReset(errorCode),
              `stream reset by the server (HTTP/2 error ${errorCode})`,
            );
          }
          return;
        case FRAME.HEADERS:
        case FRAME.CONTINUATION: {
          let fragment = payload;
          if (type === FRAME.HEADERS) {
            if (headerBlock) throw new Error("HEADERS while a header block is open");
            let start = 0;
            let end = payload.length;
            if (flags & FLAG.PADDED) {
              start = 1;
              end -= payload[0] as number;
            }
            if (flags & FLAG.PRIORITY) start += 5;
            fragment = payload.subarray(start, end);
            headerBlock = [];
            headerBlockEndsStream = (flags & FLAG.END_STREAM) !== 0;
          } else if (!headerBlock) {
            throw new Error("CONTINUATION without HEADERS");
          }
          headerBlock.push(fragment);
          if (flags & FLAG.END_HEADERS) {
            const block = Buffer.concat(headerBlock);
            headerBlock = undefined;
            if (streamId === STREAM_ID) onHeaderBlock(block, headerBlockEndsStream);
            else decoder.decode(block);
          }
          return;
        }
        case FRAME.DATA: {
          if (streamId !== STREAM_ID) return;
          let data = payload;
          if (flags & FLAG.PADDED)
            data = payload.subarray(1, payload.length - (payload[0] as number));
          bodyBytes += data.length;
          if (bodyBytes > call.maxResponseBytes + MESSAGE_HEADER_BYTES) {
            fail(
              GRPC_STATUS.RESOURCE_EXHAUSTED,
              `the answer is larger than ${call.maxResponseBytes} bytes`,
            );
            return;
          }
          body.push(data);
          if (flags & FLAG.END_STREAM) {
            fail(GRPC_STATUS.INTERNAL, "the answer ended without trailers");
          }
          return;
        }
        case FRAME.PUSH_PROMISE:
          throw new Error("PUSH_PROMISE although push is disabled");
        default:
          // PRIORITY and unknown frame types carry nothing for us (RFC 9113 §5.5).
          return;
      }
    };

    socket.on("data", (chunk: Buffer) => {
      inbound = inbound.length === 0 ? chunk : Buffer.concat([inbound, chunk]);
      try {
        while (!settled && inbound.length >= FRAME_HEADER_BYTES) {
          const length = inbound.readUIntBE(0, 3);
          if (inbound.length < FRAME_HEADER_BYTES + length) break;
          const type = inbound[3] as number;
          const flags = inbound[4] as number;
          const streamId = inbound.readUInt32BE(5) & MAX_WINDOW;
          const payload = inbound.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
          inbound = inbound.subarray(FRAME_HEADER_BYTES + length);
          onFrame(type, flags, streamId, payload);
        }
      } catch (error) {
        fail(GRPC_STATUS.INTERNAL, `HTTP/2 protocol error: ${(error as Error).message}`, error);
      }
    });
    socket.on("error", (error: Error) =>
      fail(GRPC_STATUS.UNAVAILABLE, `connection lost: ${error.message}`, error),
    );
    socket.on("close", () =>
      fail(GRPC_STATUS.UNAVAILABLE, "the connection closed before the answer"),
    );
    start();
  });
}
