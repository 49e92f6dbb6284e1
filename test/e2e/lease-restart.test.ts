// A sidecar killed and restarted in place (the same Pod, so the same POD_NAME) takes its own Lease
// back at once: it finds itself the holder, renews, and leads again, while a standby replica that
// would have to wait out the whole lease duration never gets a turn.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, INSTANCE, startHarness } from "./harness.ts";

/**
 * Long enough that the standby cannot take over before the restarted sidecar is up, however slowly
 * a loaded machine starts it: a takeover then shows as a transition, never as a quick renewal.
 */
const LEASE = ["--lease-duration", "90", "--renew-deadline", "60", "--retry-period", "0.5"];

let h: Harness;
before(async () => {
  h = await startHarness({ sidecar: false });
});
after(async () => {
  await h.close();
});

interface Lease {
  metadata: { resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseTransitions?: number };
}

const lease = () =>
  h.simulator.store.get("leases", "default", `hostfactory-k8s-${INSTANCE}`) as Lease | undefined;

async function killed(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

test("a sidecar killed with SIGKILL and restarted under the same pod name leads again at once", async () => {
  const first = h.spawnSidecar(LEASE, h.address, { POD_NAME: "sidecar-a" });
  await h.serving(h.address);
  await waitFor("sidecar-a to hold the Lease", () => lease()?.spec?.holderIdentity === "sidecar-a");
  const standbyAddress = `unix://${join(h.dir, "standby.sock")}`;
  h.spawnSidecar(LEASE, standbyAddress, { POD_NAME: "sidecar-b" });
  await h.serving(standbyAddress);

  await killed(first);
  const atKill = lease();
  assert.equal(atKill?.spec?.holderIdentity, "sidecar-a");
  h.spawnSidecar(LEASE, h.address, { POD_NAME: "sidecar-a" });

  // Nobody but the restarted sidecar may write the Lease within its 90 s: the first write after
  // the kill is its renewal, with no transition.
  const renewed = await waitFor(
    "the Lease to be written again",
    () => {
      const now = lease();
      return now?.metadata.resourceVersion !== atKill?.metadata.resourceVersion && now;
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
  assert.equal(renewed.spec?.holderIdentity, "sidecar-a");
  assert.equal(renewed.spec?.leaseTransitions, atKill?.spec?.leaseTransitions, "no takeover");

  // And it acts as the leader: only the leader creates pods.
  await h.serving(h.address);
  const answer = await h.script("requestMachines", {
    template: { templateId: "compute-small", machineCount: 2 },
  });
  assert.equal(answer.code, 0, answer.stdout + answer.stderr);
  await waitFor("the restarted leader to create the pods", () => h.pods().length === 2);
  assert.equal(lease()?.spec?.holderIdentity, "sidecar-a");
  assert.equal(lease()?.spec?.leaseTransitions, atKill?.spec?.leaseTransitions);
});
