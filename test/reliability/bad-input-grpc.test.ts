// Bad input to the sidecar's gRPC API, sent straight with the generated client (as other services
// may): arbitrary messages for every RPC, and bytes that are no message at all. Every call must
// end with a status under its deadline (never a hang, never a crash of the sidecar); a refusal is
// INVALID_ARGUMENT, NOT_FOUND or RESOURCE_EXHAUSTED with a message an administrator can read, and
// changes nothing in the cluster. fast-check's seed is printed; HOSTFACTORY_TEST_SEED replays it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import {
  type MachineRef,
  type ProviderServiceClient,
  ProviderServiceService,
  RequestKind,
  type RequestMachinesRequest,
  RequestStatus,
} from "../../proto/gen/hostfactory/v1/provider.ts";
import { type Harness, startHarness } from "../e2e/harness.ts";
import { testSeed } from "../tools/seed.ts";
import { NASTY_STRINGS, nastyString } from "./_adversarial.ts";
import { clusterSnapshot } from "./_cluster.ts";
import {
  call,
  callOk,
  callWithBytes,
  connect,
  type Outcome,
  type UnaryMethod,
  watchToEnd,
} from "./_grpc.ts";

const seed = testSeed();
const RUNS = 1_000;
/** Long enough for a loaded machine; a call still open by then is taken for a hang. */
const DEADLINE_MS = 5_000;
const MAX_DETAILS_CHARS = 2_048;
/** The harness's templates, with their maxNumber. */
const TEMPLATES: Record<string, number> = { "compute-small": 10, "compute-huge": 4 };
/** A create for a template that exists (refused: over its maxNumber), to mutate byte by byte. */
const ENCODED_CREATE = ProviderServiceService.requestMachines.requestSerialize({
  templateId: "compute-small",
  machineCount: 11,
  rcAccount: "risk",
});
const REFUSALS = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.RESOURCE_EXHAUSTED,
]);

const int32: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(-1, 0, 1, 4, 5, 10, 11, 10_000, 10_001, 2 ** 31 - 1, -(2 ** 31)),
);
const templateId = fc.oneof(fc.constantFrom(...Object.keys(TEMPLATES)), nastyString);
const machineName = fc.oneof(
  nastyString,
  fc.stringMatching(/^hf-req-[a-z0-9]{10}-[0-9]{1,3}(\.[a-z./]{0,10})?$/),
);
const machineRef: fc.Arbitrary<MachineRef> = fc.record({
  name: machineName,
  machineId: fc.oneof(fc.constant(""), nastyString),
});

/** Whether the sidecar should carry out this create (and so rightly change the cluster). */
function createAccepted(request: RequestMachinesRequest): boolean {
  const maxNumber = Object.hasOwn(TEMPLATES, request.templateId)
    ? TEMPLATES[request.templateId]
    : undefined;
  return maxNumber !== undefined && request.machineCount >= 1 && request.machineCount <= maxNumber;
}

/** Whether the sidecar should carry out this return: no pods exist, so names decide. */
/** A machine name the sidecar accepts: a pod's hostname, or its FQDN. */
const HOST_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** No pod here is anyone else's, so any well-formed host name may be returned: ours, or gone. */
function returnAccepted(machines: MachineRef[]): boolean {
  return (
    machines.length > 0 &&
    machines.every((machine) => machine.name.length <= 253 && HOST_NAME.test(machine.name))
  );
}

function assertRefusal(outcome: Outcome<unknown>, what: string): void {
  assert.ok(!outcome.ok, `${what} was accepted`);
  assert.ok(
    REFUSALS.has(outcome.code),
    `${what}: ${grpc.status[outcome.code]} ${outcome.details.slice(0, 200)}`,
  );
  assertReadable(outcome.details, what);
}

function assertReadable(details: string, what: string): void {
  assert.ok(details.trim().length > 0, `${what}: an empty message`);
  assert.ok(details.length <= MAX_DETAILS_CHARS, `${what}: a ${details.length}-char message`);
  assert.doesNotMatch(details, /internal error|\n\s+at /, what);
}

describe("the gRPC API, with arbitrary messages", () => {
  let h: Harness;
  let client: ProviderServiceClient;
  let untouched: string[];

  before(async () => {
    h = await startHarness();
    client = connect(h.address);
    untouched = clusterSnapshot(h.simulator);
  });
  after(async () => {
    client?.close();
    await h?.close();
  });

  /** Runs `property` with the test's seed, then checks that the sidecar still serves. */
  const check = async <Ts extends [unknown, ...unknown[]]>(
    t: { diagnostic(message: string): void },
    property: fc.IAsyncProperty<Ts>,
  ) => {
    t.diagnostic(`seed=${seed}`);
    await fc.assert(property, { seed, numRuns: RUNS });
    const templates = await callOk(client, "getAvailableTemplates", {}, DEADLINE_MS);
    assert.ok(templates.templates.length > 0);
  };
  const assertUntouched = (what: string) =>
    assert.deepEqual(clusterSnapshot(h.simulator), untouched, `${what} changed the cluster`);

  test("RequestMachines that must be refused is, clearly, and nothing changes", async (t) => {
    const requests = fc.record({ templateId, machineCount: int32, rcAccount: nastyString });
    await check(
      t,
      fc.asyncProperty(requests, async (request) => {
        fc.pre(!createAccepted(request));
        assertRefusal(await call(client, "requestMachines", request, DEADLINE_MS), "the create");
        assertUntouched("a refused create");
      }),
    );
  });

  test("RequestReturnMachines of names no host has, or of none, is refused, and nothing changes", async (t) => {
    const machines = fc.array(machineRef, { maxLength: 5 });
    await check(
      t,
      fc.asyncProperty(machines, async (list) => {
        fc.pre(!returnAccepted(list));
        const outcome = await call(
          client,
          "requestReturnMachines",
          { machines: list },
          DEADLINE_MS,
        );
        assertRefusal(outcome, "the return");
        assertUntouched("a refused return");
      }),
    );
  });

  test("GetRequestStatus answers every id, in order, as unknown, or refuses an empty list", async (t) => {
    const ids = fc.array(nastyString, { maxLength: 8 });
    await check(
      t,
      fc.asyncProperty(ids, async (requestIds) => {
        const outcome = await call(client, "getRequestStatus", { requestIds }, DEADLINE_MS);
        assertUntouched("a status question");
        if (requestIds.length === 0) return assertRefusal(outcome, "an empty status question");
        assert.ok(outcome.ok, `${!outcome.ok && grpc.status[outcome.code]}`);
        const answers = outcome.value.requests;
        assert.deepEqual(
          answers.map((answer) => answer.requestId),
          requestIds.map((id) => id.toWellFormed()),
        );
        for (const answer of answers) {
          assert.equal(answer.status, RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR);
          assert.equal(answer.kind, RequestKind.REQUEST_KIND_UNSPECIFIED);
          assert.deepEqual(answer.machines, []);
          assert.match(answer.message, /not known to this provider/);
        }
      }),
    );
  });

  test("GetReturnRequests answers any list of machines, and nothing changes", async (t) => {
    const machines = fc.array(machineRef, { maxLength: 8 });
    await check(
      t,
      fc.asyncProperty(machines, async (list) => {
        const outcome = await call(client, "getReturnRequests", { machines: list }, DEADLINE_MS);
        assertUntouched("a return-requests question");
        assert.ok(outcome.ok, `${!outcome.ok && grpc.status[outcome.code]}`);
        // No pod exists: every host is gone already, whatever its name.
        assert.deepEqual(
          outcome.value.requests.map((r) => [r.machine, r.gracePeriod]),
          list.map((m) => [m.name.toWellFormed(), 0]),
        );
      }),
    );
  });

  test("WatchRequest for any id sends the unknown request's final status and ends", async (t) => {
    await check(
      t,
      fc.asyncProperty(nastyString, async (requestId) => {
        const outcome = await watchToEnd(client, requestId, DEADLINE_MS);
        assert.ok(
          outcome.ok,
          `${!outcome.ok && `${grpc.status[outcome.code]} ${outcome.details}`}`,
        );
        assert.equal(outcome.value.length, 1);
        const [update] = outcome.value;
        assert.equal(update?.request?.status, RequestStatus.REQUEST_STATUS_COMPLETE_WITH_ERROR);
        assertUntouched("a watch");
      }),
    );
  });

  test("bytes that are no message get a status too, and the sidecar goes on serving", async (t) => {
    const methods = Object.keys(ProviderServiceService).filter(
      (method): method is UnaryMethod => method !== "watchRequest",
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
        const copy = Uint8Array.from(ENCODED_CREATE);
        copy[at % copy.length] = value;
        return copy;
      }),
    );
    await check(
      t,
      fc.asyncProperty(fc.constantFrom(...methods), bytes, async (method, raw) => {
        let decoded: unknown;
        try {
          decoded = ProviderServiceService[method].requestDeserialize(Buffer.from(raw));
        } catch {
          // grpc-js answers a message it cannot decode with INTERNAL, before any handler runs.
          const outcome = await callWithBytes(client, method, raw, DEADLINE_MS);
          assert.ok(!outcome.ok && outcome.code === grpc.status.INTERNAL, `${method}`);
          assert.match(outcome.details, /deserializ/);
          assertUntouched("an undecodable message");
          return;
        }
        if (method === "requestMachines") {
          fc.pre(!createAccepted(decoded as RequestMachinesRequest));
        }
        if (method === "requestReturnMachines") {
          fc.pre(!returnAccepted((decoded as { machines: MachineRef[] }).machines));
        }
        const outcome = await callWithBytes(client, method, raw, DEADLINE_MS);
        if (!outcome.ok) assertRefusal(outcome, `${method} of bytes`);
        else assert.ok(method !== "requestMachines" && method !== "requestReturnMachines");
        assertUntouched(`${method} of bytes`);
      }),
    );
  });

  test("names and ids from the list of nasty strings are each refused or answered", async () => {
    for (const text of NASTY_STRINGS) {
      assertRefusal(
        await call(client, "requestMachines", {
          templateId: text,
          machineCount: 1,
          rcAccount: text,
        }),
        `template ${JSON.stringify(text)}`,
      );
      const machines = [{ name: text, machineId: text }];
      // A well-formed host name with no pod is a host already gone: its return is accepted.
      if (returnAccepted(machines)) continue;
      assertRefusal(
        await call(client, "requestReturnMachines", { machines }),
        `return of ${JSON.stringify(text)}`,
      );
    }
    assertUntouched("nasty strings");
  });

  test("a refusal's message stays short, however large the input it refuses", async () => {
    const long = "t".repeat(100_000);
    assertRefusal(
      await call(client, "requestMachines", { templateId: long, machineCount: 1, rcAccount: "" }),
      "a create of a 100,000-char template id",
    );
    const machines = Array.from({ length: 5_000 }, (_, i) => ({
      name: `host_${i}.example.com`,
      machineId: "",
    }));
    assertRefusal(
      await call(client, "requestReturnMachines", { machines }),
      "a return of 5,000 malformed machine names",
    );
  });

  test("a status question naming a thousand unknown request ids neither times out nor holds up new requests", async () => {
    const requestIds = Array.from(
      { length: 1_000 },
      (_, i) => `req-${String(i).padStart(10, "0")}`,
    );
    const question = call(client, "getRequestStatus", { requestIds }, 10_000);
    const create = call(
      client,
      "requestMachines",
      { templateId: "compute-small", machineCount: 1, rcAccount: "" },
      10_000,
    );
    const [answer, created] = await Promise.all([question, create]);
    assert.ok(answer.ok, `the question: ${!answer.ok && grpc.status[answer.code]}`);
    assert.ok(created.ok, `a create meanwhile: ${!created.ok && grpc.status[created.code]}`);
  });
});
