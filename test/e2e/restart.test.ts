// A sidecar killed in the middle of a request: the request survives in its record, the next
// sidecar finishes it, and no machine is created twice.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, test } from "node:test";
import { type Harness, startHarness, waitFor } from "./harness.ts";

let h: Harness;
before(async () => {
  h = await startHarness({ sidecar: false });
});
after(async () => {
  await h.close();
});

/** Slow pod creation (2 per second) so that a kill lands in the middle of the request. */
const SLOW = ["--qps", "2", "--burst", "1"];

async function untilServing(): Promise<void> {
  await waitFor(
    "the sidecar to serve",
    async () => (await h.script("getAvailableTemplates", {})).code === 0,
  );
}

async function killed(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

test("a sidecar killed mid-request loses nothing and creates no machine twice", async () => {
  let podsAdded = 0;
  h.simulator.store.subscribe("pods", (event) => {
    if (event.type === "ADDED") podsAdded++;
  });
  const first = h.spawnSidecar(SLOW);
  await untilServing();
  const answer = await h.script("requestMachines", {
    template: { templateId: "compute-small", machineCount: 8 },
  });
  assert.equal(answer.code, 0, answer.stdout);
  const requestId = String(answer.json?.requestId);

  await waitFor("some pods to be created", () => h.pods().length >= 2, 20_000);
  await killed(first);
  const createdBeforeKill = h.pods().length;
  assert.ok(createdBeforeKill < 8, `killed mid-request (${createdBeforeKill} of 8 created)`);

  h.spawnSidecar(SLOW);
  await untilServing();
  const final = await waitFor(
    "the request to complete",
    async () => {
      const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
      const [request] = (result.json?.requests ?? []) as { status: string; machines: unknown[] }[];
      return request?.status === "complete" && request;
    },
    30_000,
    250,
  );
  assert.equal(final.machines.length, 8);
  const names = h
    .pods()
    .map((p) => p.name)
    .sort();
  assert.deepEqual(names, Array.from({ length: 8 }, (_, i) => `hf-${requestId}-${i}`).sort());
  assert.equal(podsAdded, 8, "each machine's pod was created exactly once");
});
