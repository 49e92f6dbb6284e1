// Crash safety: SIGKILL the sidecar at random moments (seeded, so a failure can be replayed)
// during a 500-machine request and during its return. Afterwards exactly the requested pods
// exist, each created once, every request is final, and no returned pod survives.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SEED_ENV, seededRandom, testSeed } from "../tools/seed.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

const MACHINES = 500;
const KILLS_PER_PHASE = 4;
const BULK = join(import.meta.dirname, "..", "fixtures", "templates", "bulk.json");
const BIG_NODES = ["node-1", "node-2", "node-3"].map((name) => ({
  name,
  cpu: "64",
  memory: "256Gi",
  pods: 250,
}));

let h: Harness;
let sidecar: ChildProcess | undefined;
const seed = testSeed();
const next = seededRandom(seed);

before(async () => {
  h = await startHarness({
    sidecar: false,
    templates: BULK,
    simulator: { seed, nodes: BIG_NODES, podStartDelayMs: 0, podStartJitterMs: 50 },
  });
});
after(async () => {
  await h.close();
});

function start(): ChildProcess {
  sidecar = h.spawnSidecar(["--no-leader-elect", "--qps", "150", "--burst", "20"]);
  return sidecar;
}

async function serving(): Promise<void> {
  await waitFor(
    "the sidecar to serve",
    async () => (await h.script("getAvailableTemplates", {})).code === 0,
    20_000,
  );
}

/** Kills the sidecar at random moments while `done` is false; returns how many kills landed. */
async function chaos(done: () => boolean): Promise<number> {
  let kills = 0;
  while (kills < KILLS_PER_PHASE && !done()) {
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(next() * 600)));
    if (done()) break;
    const victim = sidecar;
    victim?.kill("SIGKILL");
    await new Promise((resolve) => victim?.once("exit", resolve));
    kills++;
    start();
    await serving();
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
    90_000,
    500,
  );
}

test(`SIGKILLs during a ${MACHINES}-machine request and its return lose nothing and leak nothing`, async (t) => {
  t.diagnostic(`seed=${seed} (replay with ${SEED_ENV}=${seed})`);
  const added = new Map<string, number>();
  h.simulator.store.subscribe("pods", (event) => {
    if (event.type === "ADDED") {
      const name = String(event.object.metadata.name);
      added.set(name, (added.get(name) ?? 0) + 1);
    }
  });
  start();
  await serving();

  const asked = await h.script("requestMachines", {
    template: { templateId: "compute-bulk", machineCount: MACHINES },
  });
  assert.equal(asked.code, 0, asked.stdout);
  const requestId = String(asked.json?.requestId);
  const createKills = await chaos(() => h.pods().length >= MACHINES);
  const created = await finalStatus(requestId);
  assert.equal(created.status, "complete", created.message);
  const expected = Array.from({ length: MACHINES }, (_, i) => `hf-${requestId}-${i}`).sort();
  assert.deepEqual(
    h
      .pods()
      .map((p) => p.name)
      .sort(),
    expected,
  );
  assert.deepEqual(
    [...added.values()].filter((n) => n !== 1),
    [],
    "every pod was created exactly once",
  );

  const machines = created.machines.map(({ name }) => ({ name, machineId: "" }));
  const returned = await h.script("requestReturnMachines", { machines });
  assert.equal(returned.code, 0, returned.stdout);
  const returnId = String(returned.json?.requestId);
  const returnKills = await chaos(() => h.pods().length === 0);
  const gone = await finalStatus(returnId);
  assert.equal(gone.status, "complete", gone.message);
  await waitFor("no returned pod to survive", () => h.pods().length === 0, 30_000);
  assert.equal(added.size, MACHINES, "nothing was recreated after its return");
  t.diagnostic(`kills: ${createKills} during the request, ${returnKills} during the return`);
});
