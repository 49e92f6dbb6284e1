import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ClientError } from "../../client/errors.ts";
import {
  MAX_MACHINE_COUNT,
  parseInputJson,
  toGetAvailableTemplatesRequest,
  toGetRequestStatusRequest,
  toGetReturnRequestsRequest,
  toRequestMachinesRequest,
  toRequestReturnMachinesRequest,
} from "../../client/symphony-input.ts";
import { MAX_MACHINES_PER_REQUEST } from "../../sidecar/provider/model.ts";
import { FIXTURES, SAMPLE_REQUESTS } from "./sample-responses.ts";

const fixture = (name: string) => parseInputJson(readFileSync(new URL(name, FIXTURES), "utf8"));

describe("the wire samples parse to the expected requests", () => {
  const cases: [string, (input: unknown) => unknown, unknown][] = [
    ["getAvailableTemplates.input.json", toGetAvailableTemplatesRequest, {}],
    ["requestMachines.input.json", toRequestMachinesRequest, SAMPLE_REQUESTS.requestMachines],
    [
      "requestReturnMachines.input.json",
      toRequestReturnMachinesRequest,
      SAMPLE_REQUESTS.requestReturnMachines,
    ],
    ["getRequestStatus.input.json", toGetRequestStatusRequest, SAMPLE_REQUESTS.getRequestStatus],
    [
      "getRequestStatus.input-object-form.json",
      toGetRequestStatusRequest,
      { requestIds: ["req-5b2k9x7d1a"] },
    ],
    ["getReturnRequests.input.json", toGetReturnRequestsRequest, SAMPLE_REQUESTS.getReturnRequests],
  ];
  for (const [file, parse, expected] of cases) {
    test(file, () => assert.deepEqual(parse(fixture(file)), expected));
  }
});

describe("what real HostFactory writes is accepted", () => {
  test("tab-indented JSON with a byte order mark", () => {
    const text = '\uFEFF{\n\t"requests": [\n\t\t{\n\t\t\t"requestId": "req-a"\n\t\t}\n\t]\n}\n';
    assert.deepEqual(toGetRequestStatusRequest(parseInputJson(text)), { requestIds: ["req-a"] });
  });
  test("rc_account and userData beside the template's fields; rc_account is kept", () => {
    const input = {
      template: { templateId: "t", machineCount: 2, rc_account: "default", userData: { a: 1 } },
    };
    assert.deepEqual(toRequestMachinesRequest(input), {
      templateId: "t",
      machineCount: 2,
      rcAccount: "default",
    });
  });
  test("a single machine object instead of a list, without machineId", () => {
    assert.deepEqual(toRequestReturnMachinesRequest({ machines: { name: "hf-a-0" } }), {
      machines: [{ name: "hf-a-0", machineId: "" }],
    });
  });
  test("unknown keys at every level", () => {
    const input = {
      rc_account: "x",
      machines: [{ name: "m", machineId: "u", publicIpAddress: "", extra: [1] }],
    };
    assert.deepEqual(toGetReturnRequestsRequest(input), {
      machines: [{ name: "m", machineId: "u" }],
    });
  });
  test("getReturnRequests with no machines held: an empty list or none", () => {
    assert.deepEqual(toGetReturnRequestsRequest({ machines: [] }), { machines: [] });
    assert.deepEqual(toGetReturnRequestsRequest({}), { machines: [] });
  });
  test("machineCount at the per-request limit, which is the sidecar's own", () => {
    assert.equal(MAX_MACHINE_COUNT, MAX_MACHINES_PER_REQUEST);
    const input = { template: { templateId: "t", machineCount: 10_000 } };
    assert.equal(toRequestMachinesRequest(input).machineCount, 10_000);
  });
});

describe("wrong input is rejected with the field, what was expected and what was found", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["malformed JSON", () => parseInputJson('{\n\t"template": {,}\n}'), /not valid JSON: .*line 2/],
    ["empty file", () => parseInputJson(""), /not valid JSON/],
    [
      "a list, not an object",
      () => toGetAvailableTemplatesRequest([]),
      /the input must be a JSON object; found a list/,
    ],
    ["no template", () => toRequestMachinesRequest({}), /template is missing: expected an object/],
    [
      "no templateId",
      () => toRequestMachinesRequest({ template: { machineCount: 1 } }),
      /template\.templateId is missing: expected a non-empty string/,
    ],
    [
      "empty templateId",
      () => toRequestMachinesRequest({ template: { templateId: " ", machineCount: 1 } }),
      /template\.templateId must be a non-empty string; found the string " "/,
    ],
    ...[0, -1, 1.5, 10_001, 2_147_483_648].map((count): [string, () => unknown, RegExp] => [
      `machineCount ${count}`,
      () => toRequestMachinesRequest({ template: { templateId: "t", machineCount: count } }),
      new RegExp(
        `template\\.machineCount must be a whole number from 1 to 10000; found the number ${count}`,
      ),
    ]),
    [
      "machineCount as a string",
      () => toRequestMachinesRequest({ template: { templateId: "t", machineCount: "3" } }),
      /template\.machineCount must be .*; found the string "3"/,
    ],
    [
      "rc_account not a string",
      () =>
        toRequestMachinesRequest({ template: { templateId: "t", machineCount: 1, rc_account: 7 } }),
      /template\.rc_account must be a string; found the number 7/,
    ],
    [
      "empty machine list",
      () => toRequestReturnMachinesRequest({ machines: [] }),
      /machines is empty/,
    ],
    [
      "no machines",
      () => toRequestReturnMachinesRequest({}),
      /machines is missing: expected a list/,
    ],
    [
      "machine without a name",
      () => toRequestReturnMachinesRequest({ machines: [{ name: "a" }, { machineId: "u" }] }),
      /machines\[1\]\.name is missing: expected a non-empty string/,
    ],
    [
      "machine that is a string",
      () => toGetReturnRequestsRequest({ machines: ["hf-a-0"] }),
      /machines\[0\] must be an object with "name"; found the string "hf-a-0"/,
    ],
    [
      "machineId not a string",
      () => toRequestReturnMachinesRequest({ machines: { name: "a", machineId: 5 } }),
      /machines\.machineId must be a string; found the number 5/,
    ],
    [
      "request id not a string",
      () => toGetRequestStatusRequest({ requests: [{ requestId: "req-a" }, { requestId: 12 }] }),
      /requests\[1\]\.requestId must be a non-empty string; found the number 12/,
    ],
    ["no request ids", () => toGetRequestStatusRequest({ requests: [] }), /requests is empty/],
    [
      "requests as a string",
      () => toGetRequestStatusRequest({ requests: "req-a" }),
      /requests must be a list of objects; found the string "req-a"/,
    ],
  ];
  for (const [name, parse, message] of cases) {
    test(name, () =>
      assert.throws(parse, (error) => {
        assert.ok(error instanceof ClientError);
        assert.equal(error.code, "invalid_input");
        assert.match(error.message, message);
        return true;
      }),
    );
  }

  test("a huge value is shortened in the message", () => {
    const long = "x".repeat(10_000);
    assert.throws(
      () => toRequestMachinesRequest({ template: { templateId: "t", machineCount: long } }),
      (error: Error) => error.message.length < 200,
    );
  });
});

describe("the example request files parse", () => {
  const parsers: Record<string, (input: unknown) => unknown> = {
    getAvailableTemplates: toGetAvailableTemplatesRequest,
    requestMachines: toRequestMachinesRequest,
    requestReturnMachines: toRequestReturnMachinesRequest,
    getRequestStatus: toGetRequestStatusRequest,
    getReturnRequests: toGetReturnRequestsRequest,
  };
  const examples = new URL("../../examples/requests/", import.meta.url);
  for (const [operation, parse] of Object.entries(parsers)) {
    test(`examples/requests/${operation}.json`, () => {
      parse(parseInputJson(readFileSync(new URL(`${operation}.json`, examples), "utf8")));
    });
  }
  test("requestMachines.json asks for the example template compute-small", () => {
    const text = readFileSync(new URL("requestMachines.json", examples), "utf8");
    assert.equal(toRequestMachinesRequest(parseInputJson(text)).templateId, "compute-small");
  });
});
