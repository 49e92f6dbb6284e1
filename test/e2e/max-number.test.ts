// maxNumber is a hard limit across replicas: requests sent at once to two sidecars, each of
// which alone sees room for them, never together take more machines than the template allows.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LABEL_RECORD_KIND } from "../../sidecar/provider/model.ts";
import { type Harness, startHarness } from "./harness.ts";

/** compute-small's maxNumber in test/fixtures/templates/templates.json. */
const MAX_NUMBER = 10;
const MACHINES_PER_REQUEST = 3;
/** Requests sent to each replica at once: together far more than MAX_NUMBER allows. */
const REQUESTS_PER_REPLICA = 4;

let h: Harness;
let other: string;
before(async () => {
  h = await startHarness();
  other = await h.startReplica();
});
after(async () => {
  await h.close();
});

/** Machines the stored create records ask for, whatever any cache shows. */
function machinesAsked(): number {
  let total = 0;
  for (const configMap of h.simulator.store.list("configmaps", "default")) {
    if (configMap.metadata.labels?.[LABEL_RECORD_KIND] !== "create") continue;
    const data = (configMap as { data?: Record<string, string> }).data ?? {};
    total += JSON.parse(data.request ?? "{}").machineCount ?? 0;
  }
  return total;
}

test("requests at once through two replicas never take more than maxNumber machines", async () => {
  const ask = (address: string) =>
    h.script(
      "requestMachines",
      { template: { templateId: "compute-small", machineCount: MACHINES_PER_REQUEST } },
      { HOSTFACTORY_ADDRESS: address },
    );
  const answers = await Promise.all(
    [h.address, other].flatMap((address) =>
      Array.from({ length: REQUESTS_PER_REPLICA }, () => ask(address)),
    ),
  );
  const accepted = answers.filter((a) => a.code === 0);
  for (const refused of answers.filter((a) => a.code !== 0)) {
    assert.match(String(refused.json?.message), /machines available|try again/, refused.stdout);
  }
  assert.ok(accepted.length >= 1, "some request is accepted");
  assert.ok(
    accepted.length * MACHINES_PER_REQUEST <= MAX_NUMBER,
    `${accepted.length} requests of ${MACHINES_PER_REQUEST} accepted`,
  );
  assert.equal(machinesAsked(), accepted.length * MACHINES_PER_REQUEST);
  assert.ok(machinesAsked() <= MAX_NUMBER);
});
