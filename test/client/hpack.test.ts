// The client's HPACK: RFC 7541's own examples, and whatever nghttp2 (node:http2, which grpc-js
// serves with) sends: Huffman strings of every octet a header may hold, a dynamic table that
// fills up and evicts, trailers that refer back to it.
import assert from "node:assert/strict";
import { createServer } from "node:http2";
import { connect } from "node:net";
import { describe, test } from "node:test";
import {
  createHpackDecoder,
  encodeHeaders,
  HUFFMAN_CODE_LENGTHS,
  huffmanDecode,
} from "../../client/hpack.ts";

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ""), "hex");

describe("RFC 7541 appendix C", () => {
  test("C.2.1: a literal with indexing enters the dynamic table", () => {
    const decoder = createHpackDecoder();
    const block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    assert.deepEqual(decoder.decode(block), [["custom-key", "custom-header"]]);
    assert.deepEqual(decoder.decode(hex("be")), [["custom-key", "custom-header"]]);
  });

  test("C.4: three requests with Huffman coding share one dynamic table", () => {
    const decoder = createHpackDecoder();
    const first = [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
    ];
    assert.deepEqual(decoder.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), first);
    assert.deepEqual(decoder.decode(hex("8286 84be 5886 a8eb 1064 9cbf")), [
      ...first,
      ["cache-control", "no-cache"],
    ]);
    assert.deepEqual(
      decoder.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")),
      [
        [":method", "GET"],
        [":scheme", "https"],
        [":path", "/index.html"],
        [":authority", "www.example.com"],
        ["custom-key", "custom-value"],
      ],
    );
  });
});

describe("Huffman code", () => {
  test("is complete: the code lengths fill the code space exactly (Kraft)", () => {
    const sum = HUFFMAN_CODE_LENGTHS.reduce((total, length) => total + 2 ** -length, 0);
    assert.equal(HUFFMAN_CODE_LENGTHS.length, 257);
    assert.equal(sum, 1);
  });

  test("decodes every octet, and refuses bad padding and EOS", () => {
    // Encode canonically from the lengths, the way an encoder that follows the RFC would.
    const order = HUFFMAN_CODE_LENGTHS.map((_, symbol) => symbol).sort(
      (a, b) => (HUFFMAN_CODE_LENGTHS[a] as number) - (HUFFMAN_CODE_LENGTHS[b] as number) || a - b,
    );
    const codes = new Map<number, string>();
    let code = 0n;
    let previous = 0;
    for (const symbol of order) {
      const length = HUFFMAN_CODE_LENGTHS[symbol] as number;
      code <<= BigInt(length - previous);
      previous = length;
      codes.set(symbol, code.toString(2).padStart(length, "0"));
      code++;
    }
    const encode = (octets: number[], padding = "1") => {
      let bits = octets.map((octet) => codes.get(octet)).join("");
      while (bits.length % 8 !== 0) bits += padding;
      return Uint8Array.from(bits.match(/.{8}/g) ?? [], (byte) => Number.parseInt(byte, 2));
    };
    const everyOctet = Array.from({ length: 256 }, (_, octet) => octet);
    assert.deepEqual([...huffmanDecode(encode(everyOctet))], everyOctet);
    assert.deepEqual(
      [...huffmanDecode(encode([...everyOctet].reverse()))],
      [...everyOctet].reverse(),
    );
    assert.throws(() => huffmanDecode(encode([48], "0")), /padding/);
    assert.throws(() => huffmanDecode(encode([256])), /EOS/);
  });
});

test("decodes what nghttp2 encodes: every header octet, a full dynamic table, trailers", async () => {
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
  const high = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i));
  const headers: Record<string, string> = {
    "x-printable": printable.join("").trim(),
    "x-high": high.join(""),
  };
  for (let i = 0; i < 150; i++) headers[`x-filler-${i}`] = `value ${i} `.repeat(1 + (i % 7)).trim();
  const trailers = { "grpc-status": "0", "x-printable": headers["x-printable"] as string };

  const server = createServer();
  server.on("stream", (stream) => {
    stream.respond({ ":status": 200, ...headers }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    const blocks = await headerBlocksOfOneRequest(port);
    const decoder = createHpackDecoder();
    const [responseHeaders, responseTrailers] = blocks.map((block) => decoder.decode(block));
    const got = new Map(responseHeaders);
    for (const [name, value] of Object.entries(headers)) assert.equal(got.get(name), value, name);
    assert.deepEqual(new Map(responseTrailers), new Map(Object.entries(trailers)));
  } finally {
    server.close();
  }
});

/** Sends one GET with encodeHeaders over raw HTTP/2; resolves with stream 1's header blocks. */
function headerBlocksOfOneRequest(port: number): Promise<Buffer[]> {
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(stream, 5);
    return Buffer.concat([header, payload]);
  };
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const blocks: Buffer[] = [];
    let open: Buffer[] = [];
    let inbound = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("connect", () => {
      const request = encodeHeaders([
        [":method", "GET"],
        [":scheme", "http"],
        [":path", "/"],
        [":authority", `127.0.0.1:${port}`],
      ]);
      socket.write(
        Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
          frame(4, 0, 0, Buffer.alloc(0)),
          frame(1, 0x4 | 0x1, 1, request),
        ]),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      inbound = Buffer.concat([inbound, chunk]);
      while (inbound.length >= 9 && inbound.length >= 9 + inbound.readUIntBE(0, 3)) {
        const length = inbound.readUIntBE(0, 3);
        const [type, flags] = [inbound[3] as number, inbound[4] as number];
        const stream = inbound.readUInt32BE(5);
        const payload = inbound.subarray(9, 9 + length);
        inbound = inbound.subarray(9 + length);
        if (type === 4 && !(flags & 1)) socket.write(frame(4, 1, 0, Buffer.alloc(0)));
        if (stream !== 1 || (type !== 1 && type !== 9)) continue;
        open.push(payload);
        if (flags & 0x4) {
          blocks.push(Buffer.concat(open));
          open = [];
          if (blocks.length === 2) {
            socket.destroy();
            resolve(blocks);
          }
        }
      }
    });
  });
}
