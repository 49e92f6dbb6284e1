// HPACK (RFC 7541), as much as one gRPC call needs: request headers are encoded as literals
// (no Huffman, no indexing, so the encoder keeps no state), response headers are decoded in
// full (static and dynamic table, Huffman), because the server's encoder uses all of it.

/** Appendix A. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/**
 * Appendix B: the Huffman code's length in bits for each octet, then for EOS (256). The code is
 * canonical (codes of equal length are consecutive, in symbol order), so lengths define it.
 */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS = 256;
const MAX_CODE_LENGTH = 30;

/** Canonical decoding tables: per length, the first code and where its symbols start. */
interface HuffmanTables {
  firstCode: number[];
  count: number[];
  offset: number[];
  symbols: number[];
}

let huffmanTables: HuffmanTables | undefined;

function tables(): HuffmanTables {
  if (huffmanTables) return huffmanTables;
  const count = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  for (const length of HUFFMAN_CODE_LENGTHS) count[length] = (count[length] as number) + 1;
  const firstCode = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  const offset = new Array<number>(MAX_CODE_LENGTH + 1).fill(0);
  for (let length = 1, code = 0; length <= MAX_CODE_LENGTH; length++) {
    firstCode[length] = code;
    offset[length] = (offset[length - 1] as number) + (count[length - 1] as number);
    code = (code + (count[length] as number)) * 2;
  }
  // Symbols in canonical order: by code length, then by value.
  const symbols = new Array<number>(HUFFMAN_CODE_LENGTHS.length);
  const next = [...offset];
  HUFFMAN_CODE_LENGTHS.forEach((length, symbol) => {
    symbols[next[length] as number] = symbol;
    next[length] = (next[length] as number) + 1;
  });
  huffmanTables = { firstCode, count, offset, symbols };
  return huffmanTables;
}

export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** Decodes a Huffman-coded string literal (§5.2) into octets. */
export function huffmanDecode(input: Uint8Array): Uint8Array {
  const { firstCode, count, offset, symbols } = tables();
  const out: number[] = [];
  let code = 0;
  let length = 0;
  let allOnes = true;
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >> bit) & 1;
      code = code * 2 + one;
      allOnes &&= one === 1;
      length++;
      const index = code - (firstCode[length] as number);
      if (index >= 0 && index < (count[length] as number)) {
        const symbol = symbols[(offset[length] as number) + index] as number;
        if (symbol === EOS) throw new HpackError("Huffman string contains EOS");
        out.push(symbol);
        code = 0;
        length = 0;
        allOnes = true;
      } else if (length >= MAX_CODE_LENGTH) {
        throw new HpackError("invalid Huffman code");
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the start of EOS).
  if (length > 7 || !allOnes) throw new HpackError("invalid Huffman padding");
  return Uint8Array.from(out);
}

/** The cost of a dynamic table entry (§4.1). */
const ENTRY_OVERHEAD = 32;
/** SETTINGS_HEADER_TABLE_SIZE's default, which the client never changes. */
export const DEFAULT_TABLE_SIZE = 4096;

export type Header = [name: string, value: string];

export interface HpackDecoder {
  /** Decodes one complete header block; the dynamic table carries over to the next. */
  decode(block: Uint8Array): Header[];
}

export function createHpackDecoder(maxTableSize = DEFAULT_TABLE_SIZE): HpackDecoder {
  /** Newest first, as dynamic indexes count. */
  const dynamic: Header[] = [];
  let tableSize = 0;
  let limit = maxTableSize;

  const evictTo = (size: number) => {
    while (tableSize > size) {
      const [name, value] = dynamic.pop() as Header;
      tableSize -= name.length + value.length + ENTRY_OVERHEAD;
    }
  };
  const entry = (index: number): Header => {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as Header;
    const found = dynamic[index - STATIC_TABLE.length - 1];
    if (!found) throw new HpackError(`header index ${index} out of range`);
    return found;
  };

  return {
    decode(block) {
      let at = 0;
      const integer = (prefixBits: number): number => {
        const mask = (1 << prefixBits) - 1;
        let value = (block[at++] as number) & mask;
        if (value < mask) return value;
        let shift = 0;
        let byte: number;
        do {
          if (at >= block.length) throw new HpackError("truncated integer");
          byte = block[at++] as number;
          value += (byte & 0x7f) * 2 ** shift;
          shift += 7;
          if (shift > 28) throw new HpackError("integer too large");
        } while (byte & 0x80);
        return value;
      };
      const string = (): string => {
        if (at >= block.length) throw new HpackError("truncated string");
        const huffman = ((block[at] as number) & 0x80) !== 0;
        const length = integer(7);
        if (at + length > block.length) throw new HpackError("truncated string");
        const raw = block.subarray(at, at + length);
        at += length;
        return Buffer.from(huffman ? huffmanDecode(raw) : raw).toString("latin1");
      };

      const headers: Header[] = [];
      while (at < block.length) {
        const first = block[at] as number;
        if (first & 0x80) {
          headers.push(entry(integer(7)));
        } else if (first & 0x40) {
          const index = integer(6);
          const header: Header = [index === 0 ? string() : entry(index)[0], string()];
          headers.push(header);
          const size = header[0].length + header[1].length + ENTRY_OVERHEAD;
          evictTo(limit - size);
          if (size <= limit) {
            dynamic.unshift(header);
            tableSize += size;
          }
        } else if (first & 0x20) {
          const size = integer(5);
          if (size > maxTableSize) throw new HpackError(`table size ${size} over the limit`);
          limit = size;
          evictTo(limit);
        } else {
          // Literal without indexing (0000) or never indexed (0001): both a 4-bit prefix.
          const index = integer(4);
          headers.push([index === 0 ? string() : entry(index)[0], string()]);
        }
      }
      return headers;
    },
  };
}

/** Literal header fields without indexing, new names, no Huffman (§6.2.2): stateless. */
export function encodeHeaders(headers: readonly Header[]): Buffer {
  const parts: Buffer[] = [];
  const integer = (value: number, prefixBits: number, flags: number) => {
    const mask = (1 << prefixBits) - 1;
    if (value < mask) return [flags | value];
    const bytes = [flags | mask];
    let rest = value - mask;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
    return bytes;
  };
  for (const [name, value] of headers) {
    const nameBytes = Buffer.from(name, "latin1");
    const valueBytes = Buffer.from(value, "latin1");
    parts.push(
      Buffer.from([0, ...integer(nameBytes.length, 7, 0)]),
      nameBytes,
      Buffer.from(integer(valueBytes.length, 7, 0)),
      valueBytes,
    );
  }
  return Buffer.concat(parts);
}
