// The provider against a misbehaving API server: transient faults are retried until every
// request completes correctly; permanent refusals fail just the machines they hit, at once, with
// the API server's own message.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { SEED_ENV, testSeed } from "../tools/seed.ts";
import { waitFor } from "../tools/wait-for.ts";
import { accepted, finalStatus } from "./_requests.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

test("with 10% of API calls failing (500, 503, 429 with Retry-After), every request completes correctly", async (t) => {
  const seed = testSeed();
  t.diagnostic(`seed=${seed} (replay with ${SEED_ENV}=${seed})`);
  h = await startHarness({ simulator: { seed, podStartDelayMs: 20, podStartJitterMs: 20 } });
  const faults = h.simulator.faults;
  faults.injectErrors({ code: 500, rate: 0.04 });
  faults.injectErrors({ code: 503, rate: 0.03, retryAfterSeconds: 1 });
  faults.injectErrors({ code: 429, rate: 0.03, retryAfterSeconds: 1 });
  faults.addLatency({ delayMs: 0, jitterMs: 30 });

  const requestId = await accepted(h, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 10 },
  });
  const created = await finalStatus(h, requestId);
  assert.equal(created.status, "complete", created.message);
  assert.equal(h.pods().length, 10);

  const machines = created.machines.map(({ name }) => ({ name, machineId: "" }));
  const returnId = await accepted(h, "requestReturnMachines", { machines });
  const returned = await finalStatus(h, returnId);
  assert.equal(returned.status, "complete", returned.message);
  await waitFor("every returned pod to be gone", () => h?.pods().length === 0, {
    timeoutMs: 30_000,
  });
  // Each answered request drew from the fault rules; the counters show how much was at stake.
  t.diagnostic(`API requests answered: ${JSON.stringify(h.simulator.counters.snapshot())}`);
});

test("a permanent refusal fails only the machines it hit, at once, with the API server's message", async () => {
  h = await startHarness();
  const quota =
    'pods "x" is forbidden: exceeded quota: compute-quota, requested: cpu=100m, used: cpu=8, limited: cpu=8';
  h.simulator.faults.injectErrors({
    verbs: ["create"],
    resources: ["pods"],
    code: 403,
    count: 2,
    message: quota,
  });
  const createsBefore = h.simulator.counters.get("create", "pods");
  const requestId = await accepted(h, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 4 },
  });
  const final = await finalStatus(h, requestId, 20_000);
  assert.equal(final.status, "complete_with_error");
  const failed = final.machines.filter((m) => m.result === "fail");
  assert.equal(failed.length, 2);
  for (const machine of failed) assert.match(machine.message, /exceeded quota: compute-quota/);
  assert.equal(final.machines.filter((m) => m.result === "succeed").length, 2);
  assert.equal(
    h.simulator.counters.get("create", "pods") - createsBefore,
    4,
    "a refused create is not retried",
  );

  const next = await accepted(h, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 2 },
  });
  assert.equal(
    (await finalStatus(h, next, 20_000)).status,
    "complete",
    "later requests are not blocked",
  );
});

test("a delete refused for good fails the return's machine with the API server's message, and is not retried", async () => {
  h = await startHarness({ simulator: { podStartDelayMs: 20, podStartJitterMs: 10 } });
  const requestId = await accepted(h, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 1 },
  });
  const [machine] = (await finalStatus(h, requestId, 20_000)).machines;
  assert.ok(machine);
  const denial = 'admission webhook "protect.example.com" denied the request: pod is protected';
  h.simulator.faults.injectErrors({
    verbs: ["delete"],
    resources: ["pods"],
    code: 403,
    message: denial,
  });
  const deletesBefore = h.simulator.counters.get("delete", "pods");
  const returnId = await accepted(h, "requestReturnMachines", {
    machines: [{ name: machine.name, machineId: "" }],
  });
  const returned = await finalStatus(h, returnId, 20_000);
  assert.equal(returned.status, "complete_with_error");
  assert.match(
    returned.machines[0]?.message ?? "",
    /could not be deleted: .*protect\.example\.com/,
  );
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal(h.simulator.counters.get("delete", "pods") - deletesBefore, 1, "not retried");
});

test("a webhook that fails every create is retried with per-pod backoff, and each machine fails at its Pending timeout with the API server's message", async (t) => {
  h = await startHarness({ flags: { "pending-timeout": "20", "retry-max-delay": "5" } });
  const down =
    'Internal error occurred: failed calling webhook "pods.policy.example.com": connection refused';
  h.simulator.faults.injectErrors({
    verbs: ["create"],
    resources: ["pods"],
    code: 500,
    message: down,
  });
  const creates = () => h?.simulator.counters.get("create", "pods") ?? 0;
  const atStart = creates();
  const requestId = await accepted(h, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 3 },
  });
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const backedOff = creates();
  const final = await finalStatus(h, requestId, 40_000);
  const total = creates() - atStart;
  const late = creates() - backedOff;
  t.diagnostic(`create calls: ${total} in all, ${late} after the first 10 s`);
  assert.equal(final.status, "complete_with_error");
  for (const machine of final.machines) {
    assert.equal(machine.result, "fail");
    assert.match(machine.message, /could not be created within 20s: .*failed calling webhook/);
  }
  // Backed off to the 5 s cap, three machines try at most about twice each per 10 s.
  assert.ok(late <= 3 * 4, `${late} create calls after the first 10 s`);
  assert.ok(total <= 3 * 16, `${total} create calls in all`);
  assert.equal(h.pods().length, 0);
});
