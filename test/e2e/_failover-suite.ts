// Three replicas against one cluster: all serve, one leads. SIGKILL the leader mid-request and
// another takes over within the Lease's duration; nothing is created twice or forgotten. Runs on
// the simulator (ha.test.ts) and on the real control plane (control-plane.test.ts).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { assertCreatedOnce } from "./_restart-suite.ts";
import type { E2eHarness } from "./harness.ts";

/** How long three sidecar processes starting at once may take to serve, on a loaded machine. */
const SERVE_TIMEOUT_MS = 60_000;
/** The harness's spawned sidecars hold the Lease this long. */
const LEASE_DURATION_S = 2;

export function failoverSuite(title: string, open: () => Promise<E2eHarness>): void {
  describe(title, () => {
    let h: E2eHarness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    test("when the leader is killed another replica takes over, and no machine is created twice", async (t) => {
      const creates = await h.truth.recordCreates();
      try {
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
            { timeoutMs: SERVE_TIMEOUT_MS },
          );
        }
        const holder = () => h.truth.leaseHolder();
        const leader = await waitFor("a leader", async () => {
          const identity = await holder();
          return replicas.has(identity) && identity;
        });
        const follower = [...replicas.entries()].find(([identity]) => identity !== leader)?.[1];
        assert.ok(follower);

        // Every replica serves: ask a follower.
        const answer = await call(follower.address, "requestMachines", {
          template: { templateId: "compute-small", machineCount: 9 },
        });
        assert.equal(answer.code, 0, answer.stdout + answer.stderr);
        const requestId = String(answer.json?.requestId);
        await waitFor(
          "the leader to start creating",
          async () => (await h.truth.pods()).length >= 2,
          { timeoutMs: 20_000 },
        );

        const killedAt = Date.now();
        replicas.get(leader)?.child.kill("SIGKILL");
        const next = await waitFor(
          "a new leader",
          async () => {
            const identity = await holder();
            return identity !== leader && replicas.has(identity) && identity;
          },
          { timeoutMs: 15_000, intervalMs: 50 },
        );
        assert.notEqual(next, leader);
        t.diagnostic(`took over in ${Date.now() - killedAt} ms (Lease ${LEASE_DURATION_S} s)`);

        const final = await waitFor(
          "the request to complete",
          async () => {
            const result = await call(follower.address, "getRequestStatus", {
              requests: [{ requestId }],
            });
            const [request] = (result.json?.requests ?? []) as { status: string }[];
            return request?.status === "complete" && request;
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        assert.equal(final.status, "complete");
        const expected = Array.from({ length: 9 }, (_, i) => `hf-${requestId}-${i}`);
        assert.deepEqual((await h.truth.pods()).map((p) => p.name).sort(), [...expected].sort());
        assertCreatedOnce(creates, expected);
      } finally {
        creates.stop();
      }
    });
  });
}
