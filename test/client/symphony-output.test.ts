import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { ClientError } from "../../client/errors.ts";
import {
  fromGetAvailableTemplatesResponse,
  fromGetRequestStatusResponse,
  fromGetReturnRequestsResponse,
  fromRequestMachinesResponse,
  fromRequestReturnMachinesResponse,
} from "../../client/symphony-output.ts";
import {
  MachineResult,
  MachineState,
  RequestKind,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { FIXTURES, SAMPLE_MACHINE, SAMPLE_RESPONSES } from "./sample-responses.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8"));

describe("answers map to exactly the documented Symphony documents", () => {
  const cases: [string, () => unknown][] = [
    [
      "getAvailableTemplates",
      () => fromGetAvailableTemplatesResponse(SAMPLE_RESPONSES.getAvailableTemplates),
    ],
    ["requestMachines", () => fromRequestMachinesResponse(SAMPLE_RESPONSES.requestMachines)],
    [
      "requestReturnMachines",
      () => fromRequestReturnMachinesResponse(SAMPLE_RESPONSES.requestReturnMachines),
    ],
    ["getRequestStatus", () => fromGetRequestStatusResponse(SAMPLE_RESPONSES.getRequestStatus)],
    ["getReturnRequests", () => fromGetReturnRequestsResponse(SAMPLE_RESPONSES.getReturnRequests)],
  ];
  for (const [operation, map] of cases) {
    // deepEqual (strict) fails on any extra or missing field and on a number sent as a string.
    test(operation, () => assert.deepEqual(map(), fixture(`${operation}.output.json`)));
  }
});

describe("enum values get HostFactory's words", () => {
  const status = (requestStatus: RequestStatus, result: MachineResult, state: MachineState) => {
    const [request] = fromGetRequestStatusResponse({
      requests: [
        {
          requestId: "req-a",
          status: requestStatus,
          message: "",
          kind: RequestKind.REQUEST_KIND_CREATE,
          templateId: "t",
          machines: [{ ...SAMPLE_MACHINE, result, status: state }],
        },
      ],
    }).requests;
    return [request?.status, request?.machines[0]?.result, request?.machines[0]?.status];
  };
  const cases: [RequestStatus, MachineResult, MachineState, string[]][] = [
    [
      RequestStatus.REQUEST_STATUS_RUNNING,
      MachineResult.MACHINE_RESULT_EXECUTING,
      MachineState.MACHINE_STATE_PENDING,
      ["running", "executing", "pending"],
    ],
    [
      RequestStatus.REQUEST_STATUS_COMPLETE,
      MachineResult.MACHINE_RESULT_SUCCEED,
      MachineState.MACHINE_STATE_RUNNING,
      ["complete", "succeed", "running"],
    ],
    [
      RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR,
      MachineResult.MACHINE_RESULT_FAIL,
      MachineState.MACHINE_STATE_SHUTTING_DOWN,
      ["complete_with_error", "fail", "shutting-down"],
    ],
    [
      RequestStatus.REQUEST_STATUS_COMPLETE,
      MachineResult.MACHINE_RESULT_SUCCEED,
      MachineState.MACHINE_STATE_TERMINATED,
      ["complete", "succeed", "terminated"],
    ],
  ];
  for (const [requestStatus, result, state, words] of cases) {
    test(words.join(", "), () => assert.deepEqual(status(requestStatus, result, state), words));
  }

  const unknown: [string, () => unknown, RegExp][] = [
    [
      "an unset request status",
      () =>
        status(
          RequestStatus.REQUEST_STATUS_UNSPECIFIED,
          MachineResult.MACHINE_RESULT_SUCCEED,
          MachineState.MACHINE_STATE_RUNNING,
        ),
      /unknown status of request req-a \(0\)/,
    ],
    [
      "a machine state from a newer sidecar",
      () =>
        status(
          RequestStatus.REQUEST_STATUS_RUNNING,
          MachineResult.MACHINE_RESULT_SUCCEED,
          MachineState.UNRECOGNIZED,
        ),
      /unknown status of machine hf-req-5b2k9x7d1a-0 \(-1\)/,
    ],
    [
      "an unset attribute type",
      () =>
        fromGetAvailableTemplatesResponse({
          message: "",
          templates: [
            {
              templateId: "t",
              maxNumber: 1,
              availableNumber: 1,
              attributes: { type: { type: 0, value: "X86_64" } },
            },
          ],
        }),
      /unknown attribute type of type \(0\)/,
    ],
    [
      "no template at all",
      () => fromGetAvailableTemplatesResponse({ templates: [], message: "no valid template" }),
      /the sidecar listed no templates/,
    ],
  ];
  for (const [name, map, message] of unknown) {
    test(`${name} fails the call (exit 1) rather than print a wrong document`, () =>
      assert.throws(map, (error) => {
        assert.ok(error instanceof ClientError);
        assert.equal(error.code, "sidecar_failed");
        assert.match(error.message, message);
        return true;
      }));
  }
});
