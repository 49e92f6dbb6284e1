// The one per-request limit: the sidecar's --max-request-machines (at most 10,000, the client's
// own bound), enforced on what HostFactory's scripts send.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Harness, startHarness } from "./harness.ts";

const LIMIT = 3;
let h: Harness;
before(async () => {
  h = await startHarness({ flags: { "max-request-machines": String(LIMIT) } });
});
after(async () => {
  await h.close();
});

const ask = (machineCount: number) =>
  h.script("requestMachines", { template: { templateId: "compute-small", machineCount } });

test("a request over the sidecar's --max-request-machines is refused, exit 2, and creates nothing", async () => {
  const before = h.configMapCount();
  const refused = await ask(LIMIT + 1);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    String(refused.json?.message),
    /machineCount 4 is over the limit of 3 machines per request \(the sidecar's --max-request-machines\)/,
  );
  assert.equal(h.configMapCount(), before, "no record written");
  const accepted = await ask(LIMIT);
  assert.equal(accepted.code, 0, accepted.stdout);
  assert.match(String(accepted.json?.requestId), /^req-/);
});

test("the client refuses more than 10,000 itself, before calling the sidecar", async () => {
  const refused = await ask(10_001);
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    String(refused.json?.message),
    /machineCount must be a whole number from 1 to 10000/,
  );
});
