// Bad input to the client: its parsing functions against thousands of arbitrary and hostile
// documents, then the real scripts (the client HostFactory runs, in front of a real sidecar and
// the simulated cluster) against hostile files. Whatever the input: no crash, a well-formed
// request or a clear refusal (exit 2, one {"message"} document on stdout), and for a refusal or
// a question, no change in the cluster. fast-check's seed is printed; HOSTFACTORY_TEST_SEED
// replays it.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { ClientError } from "../../client/errors.ts";
import {
  parseInputJson,
  toGetAvailableTemplatesRequest,
  toGetRequestStatusRequest,
  toGetReturnRequestsRequest,
  toRequestMachinesRequest,
  toRequestReturnMachinesRequest,
} from "../../client/symphony-input.ts";
import {
  GetRequestStatusRequest,
  GetReturnRequestsRequest,
  RequestMachinesRequest,
  RequestReturnMachinesRequest,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { type Harness, runScript, type ScriptResult, startHarness } from "../e2e/harness.ts";
import { testSeed } from "../tools/seed.ts";
import {
  anyText,
  documentBytes,
  OPERATION_INPUTS,
  OPERATIONS,
  type Operation,
} from "./_adversarial.ts";
import { clusterSnapshot } from "./_cluster.ts";

const seed = testSeed();
/** Runs of the pure functions' properties, and of the property that spawns the real client. */
const PARSER_RUNS = 5_000;
const PROCESS_RUNS = 40;
const MAX_INT32 = 2 ** 31 - 1;
/** What a refusal of input a few hundred characters long may take to say why. */
const MAX_MESSAGE_CHARS = 2_048;
const TEN_MB = 10 * 1024 * 1024;
/** The harness's templates, with their maxNumber. */
const TEMPLATES: Record<string, number> = { "compute-small": 10, "compute-huge": 4 };
/** The pods the harness's sidecar makes (prefix hf), by name. */
/** A machine name the sidecar accepts: a pod's hostname, or its FQDN. No pod here is anyone
 * else's, so any such name may be returned: ours, or gone. */
const HOST_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const PARSERS = {
  getAvailableTemplates: toGetAvailableTemplatesRequest,
  requestMachines: toRequestMachinesRequest,
  requestReturnMachines: toRequestReturnMachinesRequest,
  getRequestStatus: toGetRequestStatusRequest,
  getReturnRequests: toGetReturnRequestsRequest,
} satisfies Record<Operation, (input: unknown) => object>;

/** A string as protobuf carries it: UTF-8 has no lone surrogates, so they become U+FFFD. */
function wellFormed<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_, v) =>
    typeof v === "string" ? v.toWellFormed() : v,
  );
}

function isNonBlank(value: unknown): boolean {
  return typeof value === "string" && value.trim() !== "";
}

/** Checks what a parser returned: the request's own shape, and that protobuf carries it whole. */
const CHECK_REQUEST: Record<Operation, (request: never) => void> = {
  getAvailableTemplates(request: object) {
    assert.deepEqual(request, {});
  },
  requestMachines(request: RequestMachinesRequest) {
    assert.deepEqual(Object.keys(request).sort(), ["machineCount", "rcAccount", "templateId"]);
    assert.ok(isNonBlank(request.templateId));
    assert.ok(Number.isInteger(request.machineCount));
    assert.ok(request.machineCount >= 1 && request.machineCount <= MAX_INT32);
    assert.equal(typeof request.rcAccount, "string");
    const wire = RequestMachinesRequest.encode(request).finish();
    assert.deepEqual(RequestMachinesRequest.decode(wire), wellFormed(request));
  },
  requestReturnMachines(request: RequestReturnMachinesRequest) {
    assert.ok(request.machines.length >= 1);
    for (const machine of request.machines) {
      assert.deepEqual(Object.keys(machine).sort(), ["machineId", "name"]);
      assert.ok(isNonBlank(machine.name));
      assert.equal(typeof machine.machineId, "string");
    }
    const wire = RequestReturnMachinesRequest.encode(request).finish();
    assert.deepEqual(RequestReturnMachinesRequest.decode(wire), wellFormed(request));
  },
  getRequestStatus(request: GetRequestStatusRequest) {
    assert.ok(request.requestIds.length >= 1);
    assert.ok(request.requestIds.every(isNonBlank));
    const wire = GetRequestStatusRequest.encode(request).finish();
    assert.deepEqual(GetRequestStatusRequest.decode(wire), wellFormed(request));
  },
  getReturnRequests(request: GetReturnRequestsRequest) {
    for (const machine of request.machines) {
      assert.deepEqual(Object.keys(machine).sort(), ["machineId", "name"]);
      assert.ok(isNonBlank(machine.name));
    }
    const wire = GetReturnRequestsRequest.encode(request).finish();
    assert.deepEqual(GetReturnRequestsRequest.decode(wire), wellFormed(request));
  },
};

/** The request `text` makes for `operation`, or the client's refusal of it. */
function parse(operation: Operation, text: string): { request: object } | { refusal: ClientError } {
  try {
    return { request: PARSERS[operation](parseInputJson(text)) };
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    return { refusal: error };
  }
}

function assertRefusal(refusal: ClientError): void {
  assert.equal(refusal.code, "invalid_input");
  assert.ok(refusal.message.length > 0 && refusal.message.length <= MAX_MESSAGE_CHARS);
}

const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
function assertPrototypeUntouched(): void {
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
  for (const name of ["template", "templateId", "machineCount", "machines", "requests"]) {
    assert.equal((Object.prototype as Record<string, unknown>)[name], undefined, name);
  }
}

describe("the client's parsing of HostFactory input", () => {
  test("parseInputJson gives what JSON.parse gives, or an invalid-input error, for any text", (t) => {
    t.diagnostic(`seed=${seed}`);
    fc.assert(
      fc.property(anyText, (text) => {
        let expected: unknown;
        try {
          expected = JSON.parse(text.replace(/^\uFEFF/, ""));
        } catch {
          assert.throws(
            () => parseInputJson(text),
            (error) => error instanceof ClientError && /^not valid JSON/.test(error.message),
          );
          return;
        }
        assert.deepEqual(parseInputJson(text), expected);
      }),
      { seed, numRuns: PARSER_RUNS },
    );
  });

  for (const operation of OPERATIONS) {
    test(`${operation}: any document gives a well-formed request or a clear refusal`, (t) => {
      t.diagnostic(`seed=${seed}`);
      const documents = fc.oneof(OPERATION_INPUTS[operation], anyText);
      fc.assert(
        fc.property(documents, (text) => {
          const outcome = parse(operation, text);
          if ("refusal" in outcome) assertRefusal(outcome.refusal);
          else CHECK_REQUEST[operation](outcome.request as never);
          assertPrototypeUntouched();
        }),
        { seed, numRuns: PARSER_RUNS },
      );
    });
  }

  test("what hides behind a __proto__ key is never taken for the request", () => {
    const valid = { templateId: "compute-small", machineCount: 1 };
    const hidden = [
      `{"__proto__": {"template": ${JSON.stringify(valid)}}}`,
      `{"template": {"__proto__": ${JSON.stringify(valid)}}}`,
      `{"template": {"machineCount": 1, "__proto__": {"templateId": "compute-small"}}}`,
      `{"template": {"templateId": "compute-small", "constructor": {"prototype": {"machineCount": 1}}}}`,
    ];
    for (const text of hidden) {
      const outcome = parse("requestMachines", text);
      assert.ok("refusal" in outcome, `${text} was taken as ${JSON.stringify(outcome)}`);
      assertRefusal(outcome.refusal);
    }
    const returns = parse("requestReturnMachines", '{"__proto__": {"machines": [{"name": "x"}]}}');
    assert.ok("refusal" in returns);
    assertPrototypeUntouched();
  });
});

describe("the real scripts, with hostile input files", () => {
  let h: Harness;
  let files = 0;

  /** Runs `operation`'s script on a file holding `content` (or on `path` as it is). */
  const run = (operation: Operation, content: string | Buffer | { path: string }) => {
    let file: string;
    if (typeof content === "object" && "path" in content) file = content.path;
    else {
      file = join(h.dir, `hostile-${files++}.json`);
      writeFileSync(file, content);
    }
    return runScript(operation, ["-f", file], { HOSTFACTORY_ADDRESS: h.address });
  };

  /** Exit 2 with one {"message"} document, and nothing changed in the cluster. */
  const refused = async (
    operation: Operation,
    content: Parameters<typeof run>[1],
    why?: RegExp,
    maxMessageChars = MAX_MESSAGE_CHARS,
  ): Promise<void> => {
    const before = clusterSnapshot(h.simulator);
    const result = await run(operation, content);
    const label = `${operation}: exit ${result.code}, stdout ${result.stdout.slice(0, 300)}`;
    assert.equal(result.code, 2, label);
    assertOneDocument(result);
    assert.deepEqual(Object.keys(result.json ?? {}), ["message"], label);
    const message = result.json?.message;
    assert.ok(typeof message === "string" && message.length > 0, label);
    assert.ok(message.length <= maxMessageChars, `${operation}: a ${message.length}-char message`);
    assert.doesNotMatch(message, /internal error|\n\s+at /, label);
    if (why) assert.match(message, why, label);
    assert.deepEqual(clusterSnapshot(h.simulator), before, `${operation} changed the cluster`);
  };

  /** Exit 0 with the operation's answer, and nothing changed in the cluster. */
  const answered = async (
    operation: Operation,
    content: Parameters<typeof run>[1],
  ): Promise<Record<string, unknown>> => {
    const before = clusterSnapshot(h.simulator);
    const result = await run(operation, content);
    assert.equal(
      result.code,
      0,
      `${operation}: exit ${result.code}, ${result.stdout.slice(0, 300)}`,
    );
    assertOneDocument(result);
    assert.deepEqual(clusterSnapshot(h.simulator), before, `${operation} changed the cluster`);
    return result.json ?? {};
  };

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  test("10 MB that is not JSON is refused", async () => {
    await refused("requestMachines", "x".repeat(TEN_MB), /not valid JSON/);
  });

  test("10 MB of JSON, an unknown template padded with unknown keys, is refused", async () => {
    const padding = "p".repeat(TEN_MB);
    const text = JSON.stringify({ template: { templateId: "gpu", machineCount: 1, padding } });
    await refused("requestMachines", text, /template 'gpu' not found/);
  });

  test("10 MB of machines with no pod are each reported gone", async () => {
    const count = Math.floor(TEN_MB / 50);
    const machines = Array.from({ length: count }, (_, i) => ({ name: `host-${i}.example.com` }));
    const answer = await answered("getReturnRequests", JSON.stringify({ machines }));
    const requests = answer.requests as { gracePeriod: number }[];
    assert.equal(requests.length, count);
    assert.ok(requests.every((r) => r.gracePeriod === 0));
  });

  test("a document nested a million levels deep is refused", async () => {
    const depth = 1_000_000;
    await refused("getRequestStatus", `${"[".repeat(depth)}${"]".repeat(depth)}`);
    await refused("requestMachines", `{"template":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`);
  });

  test("bytes that are not UTF-8 are read as replacement characters, never as something else", async () => {
    const input = (id: Buffer) =>
      Buffer.concat([
        Buffer.from('{"template":{"templateId":"'),
        id,
        Buffer.from('","machineCount":1}}'),
      ]);
    await refused("requestMachines", input(Buffer.from([0xff, 0xfe])), /not found/);
    await refused(
      "requestMachines",
      input(Buffer.concat([Buffer.from("compute-small"), Buffer.from([0xc3])])),
      /not found/,
    );
    const status = Buffer.concat([
      Buffer.from('{"requests":[{"requestId":"req-'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}]}'),
    ]);
    const answer = await answered("getRequestStatus", status);
    const [request] = answer.requests as { status: string; message: string }[];
    assert.equal(request?.status, "complete_with_error");
    assert.match(String(request?.message), /not known/);
  });

  test("machine names with path separators are refused for return, and reported gone (no pod has them)", async () => {
    const names = [
      "../../etc/passwd",
      "/dev/null",
      "C:\\Windows\\system32",
      "a/b",
      "..",
      "a\u0000b",
    ];
    const machines = names.map((name) => ({ name, machineId: "" }));
    await refused("requestReturnMachines", JSON.stringify({ machines }), /not machine names of/);
    const answer = await answered("getReturnRequests", JSON.stringify({ machines }));
    const requests = answer.requests as { machine: string; gracePeriod: number }[];
    assert.deepEqual(
      requests.map((r) => [r.machine, r.gracePeriod]),
      names.map((name) => [name, 0]),
    );
  });

  test("values behind __proto__ or constructor keys, and such template ids, are refused", async () => {
    const valid = JSON.stringify({ templateId: "compute-small", machineCount: 1 });
    await refused(
      "requestMachines",
      `{"__proto__": {"template": ${valid}}}`,
      /template is missing/,
    );
    await refused(
      "requestMachines",
      `{"template": {"__proto__": ${valid}}}`,
      /templateId is missing/,
    );
    for (const templateId of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const text = JSON.stringify({ template: { templateId, machineCount: 1 } });
      await refused("requestMachines", text, /not found/);
    }
  });

  test("machine counts out of range, not whole or not numbers are refused", async () => {
    for (const count of ["0", "-1", "1.5", '"5"', "2147483648", "1e400", "10001", "11", "null"]) {
      const text = `{"template": {"templateId": "compute-small", "machineCount": ${count}}}`;
      await refused("requestMachines", text, /machineCount|machines available|limit/);
    }
  });

  test("empty, null, list, BOM-only, missing and directory inputs are refused", async () => {
    for (const text of ["", "null", "[]", "\uFEFF", "{", '"text"']) {
      await refused("requestMachines", text);
    }
    await refused(
      "getAvailableTemplates",
      { path: join(h.dir, "no-such-file.json") },
      /cannot read/,
    );
    const directory = join(h.dir, "a-directory");
    mkdirSync(directory);
    await refused("getRequestStatus", { path: directory }, /cannot read/);
  });

  test("any document: a refusal for what is wrong, an answer for a question, the cluster untouched", async (t) => {
    t.diagnostic(`seed=${seed}`);
    const cases = fc
      .constantFrom(...OPERATIONS)
      .chain((operation) =>
        documentBytes(fc.oneof(OPERATION_INPUTS[operation], anyText)).map(
          (bytes) => [operation, bytes] as const,
        ),
      );
    await fc.assert(
      fc.asyncProperty(cases, async ([operation, bytes]) => {
        const outcome = parse(operation, bytes.toString("utf8"));
        if ("refusal" in outcome) {
          await refused(operation, bytes);
        } else if (operation === "requestMachines" || operation === "requestReturnMachines") {
          fc.pre(!wouldBeAccepted(outcome.request));
          await refused(operation, bytes);
        } else {
          await answered(operation, bytes);
        }
      }),
      { seed, numRuns: PROCESS_RUNS },
    );
  });

  test("a refusal's message stays short, however large the input it refuses", async () => {
    const templateId = "t".repeat(TEN_MB);
    await refused(
      "requestMachines",
      JSON.stringify({ template: { templateId, machineCount: 1 } }),
      /not found/,
      4_096,
    );
    const machines = Array.from({ length: 5_000 }, (_, i) => ({ name: `host_${i}.example.com` }));
    await refused(
      "requestReturnMachines",
      JSON.stringify({ machines }),
      /not machine names of/,
      4_096,
    );
  });
});

/** Whether the sidecar would carry out this request (and so change the cluster, rightly). */
function wouldBeAccepted(request: object): boolean {
  if ("templateId" in request) {
    const { templateId, machineCount } = request as RequestMachinesRequest;
    const maxNumber = Object.hasOwn(TEMPLATES, templateId) ? TEMPLATES[templateId] : undefined;
    return maxNumber !== undefined && machineCount <= maxNumber;
  }
  const { machines } = request as RequestReturnMachinesRequest;
  return machines.every((machine) => machine.name.length <= 253 && HOST_NAME.test(machine.name));
}

function assertOneDocument(result: ScriptResult): void {
  assert.ok(
    result.json !== undefined,
    `stdout is not one JSON document: ${result.stdout.slice(0, 300)}`,
  );
  assert.equal(typeof result.json, "object");
}
