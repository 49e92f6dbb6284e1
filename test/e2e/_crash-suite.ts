// Crash safety: SIGKILL the sidecar at random moments (seeded, so a failure can be replayed)
// during a many-machine request and during its return. Afterwards exactly the requested pods
// exist, each created once, every request is final, and no returned pod survives. Runs on the
// simulator (crash.test.ts) and on the real control plane (control-plane.test.ts).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SEED_ENV, seededRandom } from "../tools/seed.ts";
import { waitFor } from "../tools/wait-for.ts";
import { assertCreatedOnce, killed } from "./_restart-suite.ts";
import type { E2eHarness } from "./harness.ts";

const KILLS_PER_PHASE = 4;
/** The templates the harness must be opened with: compute-bulk, up to 1,000 machines. */
export const BULK_TEMPLATES = join(import.meta.dirname, "..", "fixtures", "templates", "bulk.json");
/** How long a phase may take once the chaos stops. */
const FINAL_TIMEOUT_MS = 90_000;

export function crashSuite(
  title: string,
  open: () => Promise<E2eHarness>,
  /** `seed` (from testSeed()) times the kills; the simulator's runs from the same seed. */
  options: { machines: number; seed: number },
): void {
  const { machines: MACHINES, seed } = options;
  describe(title, () => {
    let h: E2eHarness;
    let sidecar: ChildProcess | undefined;
    const next = seededRandom(seed);

    before(async () => {
      h = await open();
    });
    after(async () => {
      await h?.close();
    });

    function start(): ChildProcess {
      sidecar = h.spawnSidecar(["--no-leader-elect", "--qps", "150", "--burst", "20"]);
      return sidecar;
    }

    /** Kills the sidecar at random moments until `done`; returns how many kills landed. */
    async function chaos(done: () => Promise<boolean>): Promise<number> {
      let kills = 0;
      while (kills < KILLS_PER_PHASE && !(await done())) {
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(next() * 600)));
        if (await done()) break;
        const victim = sidecar;
        if (victim) await killed(victim);
        kills++;
        start();
        await h.serving();
      }
      return kills;
    }

    async function finalStatus(requestId: string) {
      return waitFor(
        `${requestId} to be final`,
        async () => {
          const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
          const [request] = (result.json?.requests ?? []) as {
            status: string;
            message: string;
            machines: { name: string }[];
          }[];
          return request && request.status !== "running" && request;
        },
        { timeoutMs: FINAL_TIMEOUT_MS, intervalMs: 500 },
      );
    }

    test(`SIGKILLs during a ${MACHINES}-machine request and its return lose nothing and leak nothing`, async (t) => {
      t.diagnostic(`seed=${seed} (replay with ${SEED_ENV}=${seed})`);
      const creates = await h.truth.recordCreates();
      try {
        start();
        await h.serving();
        const asked = await h.script("requestMachines", {
          template: { templateId: "compute-bulk", machineCount: MACHINES },
        });
        assert.equal(asked.code, 0, asked.stdout);
        const requestId = String(asked.json?.requestId);
        const createKills = await chaos(async () => (await h.truth.pods()).length >= MACHINES);
        const created = await finalStatus(requestId);
        assert.equal(created.status, "complete", created.message);
        const expected = Array.from({ length: MACHINES }, (_, i) => `hf-${requestId}-${i}`);
        assert.deepEqual((await h.truth.pods()).map((p) => p.name).sort(), [...expected].sort());
        assertCreatedOnce(creates, expected);

        const machines = created.machines.map(({ name }) => ({ name, machineId: "" }));
        const returned = await h.script("requestReturnMachines", { machines });
        assert.equal(returned.code, 0, returned.stdout);
        const returnId = String(returned.json?.requestId);
        const returnKills = await chaos(async () => (await h.truth.pods()).length === 0);
        const gone = await finalStatus(returnId);
        assert.equal(gone.status, "complete", gone.message);
        await waitFor(
          "no returned pod to survive",
          async () => (await h.truth.pods()).length === 0,
          { timeoutMs: FINAL_TIMEOUT_MS },
        );
        assertCreatedOnce(creates, expected);
        t.diagnostic(`kills: ${createKills} during the request, ${returnKills} during the return`);
      } finally {
        creates.stop();
      }
    });
  });
}
