// The one mapping of a failed gRPC call to what the user reads and the exit code, shared by the
// operations and the admin commands: the sidecar's refusals exit 2 with its message as is,
// everything else exits 1 (HostFactory retries) with a message saying what to check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitCode, exitCodeOf, sidecarError } from "../../client/errors.ts";
import { GRPC_STATUS, GrpcCallError } from "../../client/grpc-status.ts";

const SIDECAR = {
  addressText: "unix:///run/hf.sock",
  addressSource: "HOSTFACTORY_ADDRESS",
  timeoutMs: 2_500,
};
const AT = "the hostfactory-k8s sidecar at unix:///run/hf.sock";

const cases: [keyof typeof GRPC_STATUS, ExitCode, string][] = [
  ["INVALID_ARGUMENT", ExitCode.INVALID, "the details"],
  ["NOT_FOUND", ExitCode.INVALID, "the details"],
  ["RESOURCE_EXHAUSTED", ExitCode.INVALID, "the details"],
  ["FAILED_PRECONDITION", ExitCode.INVALID, "the details"],
  ["OUT_OF_RANGE", ExitCode.INVALID, "the details"],
  [
    "UNAVAILABLE",
    ExitCode.RETRY,
    "the hostfactory-k8s sidecar is not reachable at unix:///run/hf.sock: is it running?",
  ],
  ["DEADLINE_EXCEEDED", ExitCode.RETRY, `${AT} did not answer within 2.5s`],
  [
    "UNIMPLEMENTED",
    ExitCode.RETRY,
    `${AT} does not serve this call (is it older than this client?)`,
  ],
  ["INTERNAL", ExitCode.RETRY, `${AT} failed: the details`],
  ["UNKNOWN", ExitCode.RETRY, `${AT} failed: the details`],
  ["PERMISSION_DENIED", ExitCode.RETRY, `${AT} failed: the details`],
  ["UNAUTHENTICATED", ExitCode.RETRY, `${AT} failed: the details`],
  ["CANCELLED", ExitCode.RETRY, `${AT} failed: the details`],
];

for (const [name, exitCode, message] of cases) {
  test(`${name}: exit ${exitCode}, "${message}"`, () => {
    const cause = new GrpcCallError(GRPC_STATUS[name], "the details");
    const error = sidecarError(cause, SIDECAR);
    assert.equal(exitCodeOf(error), exitCode);
    assert.equal(error.message, message);
    assert.equal(
      error.detail,
      `gRPC ${name} from unix:///run/hf.sock (address from HOSTFACTORY_ADDRESS): the details`,
    );
    assert.equal(error.cause, cause);
  });
}
