// Two replicas, one request: the first final answer is stored in the record before anyone is
// given it, so it never changes and both replicas give it, with the same machineIds, whatever
// happens to the pods afterwards.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, startHarness } from "./harness.ts";

/** Record writes this slow leave the reconciler's own findings in flight for a while. */
const PATCH_LATENCY_MS = 1_500;
/** How long the answers are watched after the pod is gone: past every write in flight. */
const WATCH_AFTER_MS = 4 * PATCH_LATENCY_MS;

type Machine = { name: string; machineId: string; result: string };
type Answer = { status: string; machines: Machine[] };

let h: Harness;
let other: string;
before(async () => {
  h = await startHarness();
  other = await h.startReplica();
});
after(async () => {
  await h.close();
});

async function status(address: string, requestId: string): Promise<Answer> {
  const result = await h.script(
    "getRequestStatus",
    { requests: [{ requestId }] },
    { HOSTFACTORY_ADDRESS: address },
  );
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const [request] = (result.json?.requests ?? []) as Answer[];
  assert.ok(request);
  return request;
}

test("a final answer never changes and both replicas give it, after a pod of the request is gone", async () => {
  const slow = h.simulator.faults.addLatency({
    verbs: ["patch"],
    resources: ["configmaps"],
    delayMs: PATCH_LATENCY_MS,
  });
  try {
    const asked = await h.script("requestMachines", {
      template: { templateId: "compute-small", machineCount: 3 },
    });
    assert.equal(asked.code, 0, asked.stdout);
    const requestId = String(asked.json?.requestId);
    const first = await waitFor(
      "the first final answer",
      async () => {
        const answer = await status(h.address, requestId);
        return answer.status !== "running" && answer;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.equal(first.status, "complete");
    const ids = first.machines.map((m) => m.machineId);
    assert.ok(ids.every((id) => id !== ""));
    // The pod of a machine HostFactory was told had succeeded vanishes at once.
    const victim = first.machines[1]?.name ?? "";
    h.simulator.store.delete("pods", "default", victim);

    const until = Date.now() + WATCH_AFTER_MS;
    let answers = 0;
    while (Date.now() < until) {
      for (const address of [h.address, other]) {
        const answer = await status(address, requestId);
        answers++;
        assert.equal(answer.status, "complete", `answer ${answers} from ${address}`);
        assert.deepEqual(
          answer.machines.map((m) => m.machineId),
          ids,
          "every machine keeps its machineId",
        );
      }
    }
    assert.ok(answers >= 2);
  } finally {
    slow();
  }
});
