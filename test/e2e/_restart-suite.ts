// A sidecar killed in the middle of a request: the request survives in its record, the next
// sidecar finishes it, and no machine is created twice. Runs on the simulator (restart.test.ts)
// and on the real control plane (control-plane.test.ts).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import type { CreateLog } from "./ground-truth.ts";
import type { E2eHarness } from "./harness.ts";

/** Slow pod creation (2 per second) so that a kill lands in the middle of the request. */
const SLOW = ["--qps", "2", "--burst", "1"];

/** Kills `child` and waits until it is gone. */
export async function killed(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

/** Asserts that each pod of `log` was created once, and that they are exactly `names`. */
export function assertCreatedOnce(log: CreateLog, names: string[]): void {
  assert.deepEqual(log.duplicates(), [], "no machine's pod was created twice");
  assert.deepEqual([...log.uids.keys()].sort(), [...names].sort(), "pods created");
}

export function restartSuite(title: string, open: () => Promise<E2eHarness>): void {
  describe(title, () => {
    let h: E2eHarness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    test("a sidecar killed mid-request loses nothing and creates no machine twice", async () => {
      const creates = await h.truth.recordCreates();
      try {
        const first = h.spawnSidecar(SLOW);
        await h.serving();
        const answer = await h.script("requestMachines", {
          template: { templateId: "compute-small", machineCount: 8 },
        });
        assert.equal(answer.code, 0, answer.stdout);
        const requestId = String(answer.json?.requestId);

        await waitFor("some pods to be created", async () => (await h.truth.pods()).length >= 2, {
          timeoutMs: 30_000,
        });
        await killed(first);
        const createdBeforeKill = (await h.truth.pods()).length;
        assert.ok(createdBeforeKill < 8, `killed mid-request (${createdBeforeKill} of 8 created)`);

        h.spawnSidecar(SLOW);
        await h.serving();
        const final = await waitFor(
          "the request to complete",
          async () => {
            const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
            const [request] = (result.json?.requests ?? []) as {
              status: string;
              machines: unknown[];
            }[];
            return request?.status === "complete" && request;
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        assert.equal(final.machines.length, 8);
        const expected = Array.from({ length: 8 }, (_, i) => `hf-${requestId}-${i}`);
        assert.deepEqual((await h.truth.pods()).map((p) => p.name).sort(), [...expected].sort());
        assertCreatedOnce(creates, expected);
      } finally {
        creates.stop();
      }
    });
  });
}
