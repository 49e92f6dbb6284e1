// Three replicas against one cluster: all serve, one leads. SIGKILL the leader mid-request and
// another takes over within the Lease's duration; nothing is created twice or forgotten.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Harness, INSTANCE, startHarness, waitFor } from "./harness.ts";

const LEASE_DURATION_S = 2;
let h: Harness;
before(async () => {
  h = await startHarness({ sidecar: false });
});
after(async () => {
  await h.close();
});

function holder(): string {
  const lease = h.simulator.store.get("leases", "default", `hostfactory-k8s-${INSTANCE}`) as
    | { spec?: { holderIdentity?: string } }
    | undefined;
  return lease?.spec?.holderIdentity ?? "";
}

test("when the leader is killed another replica takes over within the lease duration, and no machine is created twice", async () => {
  let podsAdded = 0;
  h.simulator.store.subscribe("pods", (event) => {
    if (event.type === "ADDED") podsAdded++;
  });
  const replicas = new Map<string, { child: ChildProcess; address: string }>();
  for (const n of [1, 2, 3]) {
    const address = `unix://${join(h.dir, `replica-${n}.sock`)}`;
    const child = h.spawnSidecar(["--qps", "3", "--burst", "1"], address);
    replicas.set(`${hostname()}-${child.pid}`, { child, address });
  }
  const call = (address: string, operation: string, input: unknown) =>
    h.script(operation, input, { HOSTFACTORY_ADDRESS: address });
  for (const { address } of replicas.values()) {
    await waitFor(
      `replica ${address} to serve`,
      async () => (await call(address, "getAvailableTemplates", {})).code === 0,
    );
  }
  const leader = await waitFor("a leader", () => replicas.has(holder()) && holder());
  const follower = [...replicas.entries()].find(([identity]) => identity !== leader)?.[1];
  assert.ok(follower);

  // Every replica serves: ask a follower.
  const answer = await call(follower.address, "requestMachines", {
    template: { templateId: "compute-small", machineCount: 9 },
  });
  assert.equal(answer.code, 0, answer.stdout + answer.stderr);
  const requestId = String(answer.json?.requestId);
  await waitFor("the leader to start creating", () => h.pods().length >= 2, 20_000);

  const killedAt = Date.now();
  replicas.get(leader)?.child.kill("SIGKILL");
  const next = await waitFor(
    "a new leader",
    () => holder() !== leader && replicas.has(holder()) && holder(),
    15_000,
    50,
  );
  const takeoverMs = Date.now() - killedAt;
  assert.notEqual(next, leader);
  assert.ok(takeoverMs < (LEASE_DURATION_S + 3) * 1000, `took over in ${takeoverMs} ms`);

  const final = await waitFor(
    "the request to complete",
    async () => {
      const result = await call(follower.address, "getRequestStatus", {
        requests: [{ requestId }],
      });
      const [request] = (result.json?.requests ?? []) as { status: string }[];
      return request?.status === "complete" && request;
    },
    30_000,
    250,
  );
  assert.equal(final.status, "complete");
  assert.deepEqual(
    h
      .pods()
      .map((p) => p.name)
      .sort(),
    Array.from({ length: 9 }, (_, i) => `hf-${requestId}-${i}`).sort(),
  );
  assert.equal(podsAdded, 9, "no pod was created twice");
});
