// Arbitrary and adversarial input for the bad-input properties: strings that have broken parsers
// and path handling before, numbers at and past every limit, and JSON documents, written as
// text so that keys like "__proto__" arrive the way JSON.parse delivers them (own properties),
// shaped like each HostFactory operation's input so that the search gets past the first check.
import fc from "fast-check";

/** Strings worth trying wherever a string goes. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "a\u0000b",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "../../etc/passwd",
  "/dev/null",
  "C:\\Windows\\system32",
  "a/b",
  "..",
  ".",
  "%2e%2e%2f",
  "compute-small/../compute-huge",
  " compute-small",
  "compute-small\n",
  "COMPUTE-SMALL",
  "hf-req-aaaaaaaaaa-0/..",
  "req-",
  "ret-0000000000 ",
  "%s%n%x",
  "'; DROP TABLE requests; --",
  "\u202eevil",
  "\ud800x",
  "\uffff",
  "😀",
];

/** Numbers as JSON text, at and past every limit the contract has. */
export const NASTY_NUMBERS = [
  "0",
  "-0",
  "-1",
  "1",
  "1.0",
  "1.5",
  "1e2",
  "4",
  "10",
  "11",
  "10000",
  "10001",
  "2147483647",
  "2147483648",
  "-2147483649",
  "9007199254740993",
  "1e400",
  "-1e400",
  "1e-400",
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 100, maxLength: 300 }) },
);

const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_NUMBERS),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
);

const scalarText: fc.Arbitrary<string> = fc.oneof(
  nastyString.map((s) => JSON.stringify(s)),
  numberText,
  fc.constantFrom("true", "false", "null"),
);

/** Keys of every operation's input, and keys that have polluted prototypes. */
const KEYS = [
  "template",
  "templateId",
  "machineCount",
  "rc_account",
  "machines",
  "name",
  "machineId",
  "requests",
  "requestId",
  "__proto__",
  "constructor",
  "prototype",
];
const key: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...KEYS), nastyString);

function objectText(pairs: [string, string][]): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

/** Any JSON value, as text, a few levels deep. */
export const jsonText: fc.Arbitrary<string> = fc.letrec<{
  node: string;
  array: string;
  object: string;
}>((tie) => ({
  node: fc.oneof({ maxDepth: 4, depthSize: "small" }, scalarText, tie("array"), tie("object")),
  array: fc.array(tie("node"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
  object: fc.array(fc.tuple(key, tie("node")), { maxLength: 4 }).map(objectText),
})).node;

/**
 * An object with the given fields, each present as asked (most often), present with any other
 * JSON value, or missing; then a few stray keys, "__proto__" among them.
 */
function shaped(fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const entries = Object.entries(fields).map(([name, value]) =>
    fc.oneof(
      { weight: 6, arbitrary: value.map((v): [string, string][] => [[name, v]]) },
      { weight: 2, arbitrary: jsonText.map((v): [string, string][] => [[name, v]]) },
      { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
    ),
  );
  const stray = fc.array(fc.tuple(key, jsonText), { maxLength: 2 });
  return fc
    .tuple(fc.tuple(...entries), stray)
    .map(([present, extra]) => objectText([...present.flat(), ...extra]));
}

/** One object or a list of them, as HostFactory may send either. */
function listOf(item: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(item, { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
    item,
  );
}

const stringText = nastyString.map((s) => JSON.stringify(s));
const machineRef = shaped({ name: stringText, machineId: stringText });
const templateIdText = fc.oneof(fc.constantFrom('"compute-small"', '"compute-huge"'), stringText);

/** Input documents (as text) shaped like each operation's. */
export const OPERATION_INPUTS = {
  getAvailableTemplates: jsonText,
  requestMachines: shaped({
    template: shaped({
      templateId: templateIdText,
      machineCount: numberText,
      rc_account: stringText,
    }),
  }),
  requestReturnMachines: shaped({ machines: listOf(machineRef) }),
  getRequestStatus: shaped({
    requests: listOf(shaped({ requestId: stringText })),
  }),
  getReturnRequests: shaped({ machines: listOf(machineRef) }),
} as const;

export type Operation = keyof typeof OPERATION_INPUTS;
export const OPERATIONS = Object.keys(OPERATION_INPUTS) as Operation[];

/** Any text at all, most often not JSON. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 60 }),
  jsonText.map((text) => text.slice(0, Math.max(0, text.length - 1))),
  jsonText.map((text) => `\uFEFF${text}`),
);

/** Bytes of a document text, sometimes with bytes that are not UTF-8 spliced in. */
export function documentBytes(text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> {
  const invalid = fc.constantFrom([0xff], [0xfe, 0xff], [0xc3, 0x28], [0x80], [0xed, 0xa0, 0x80]);
  return fc.oneof(
    { weight: 3, arbitrary: text.map((t) => Buffer.from(t)) },
    {
      weight: 1,
      arbitrary: fc.tuple(text, fc.nat(), invalid).map(([t, at, bytes]) => {
        const utf8 = Buffer.from(t);
        const cut = utf8.length === 0 ? 0 : at % utf8.length;
        return Buffer.concat([utf8.subarray(0, cut), Buffer.from(bytes), utf8.subarray(cut)]);
      }),
    },
  );
}
