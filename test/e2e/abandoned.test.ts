// A requestMachines whose answer never reaches HostFactory must leave nothing behind: the client
// is killed at random points of the call (seeded), many times. A record written for a call that
// was then cancelled is removed; one whose answer was sent but never read is abandoned once
// nobody has asked about it for --abandon-after: its machines fail and its pods are deleted.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { LABEL_RECORD_KIND, LABEL_REQUEST_ID } from "../../sidecar/provider/model.ts";
import { call, connect } from "../reliability/_grpc.ts";
import { runProcess } from "../tools/run-process.ts";
import { seededRandom, testSeed } from "../tools/seed.ts";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, startHarness, TEST_TEMPLATES } from "./harness.ts";

const ROUNDS = 16;
/** Well above how long a script takes to ask, on a loaded machine. */
const ABANDON_AFTER_S = 8;
/** Record writes this slow widen the window in which a kill lands inside the call. */
const RECORD_WRITE_LATENCY_MS = 150;
const SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "requestMachines.sh");
const ASK = { template: { templateId: "compute-small", machineCount: 2 } };

const nameOf = (object: { metadata: { name?: string } }) => String(object.metadata.name);

let h: Harness;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "hostfactory-abandoned-"));
  // No maxNumber: the delivered requests' machines stay, and must not crowd out later rounds.
  const templates = JSON.parse(readFileSync(TEST_TEMPLATES, "utf8"));
  for (const template of templates.templates) template.maxNumber = -1;
  const file = join(dir, "templates.json");
  writeFileSync(file, JSON.stringify(templates));
  h = await startHarness({
    templates: file,
    flags: { "abandon-after": String(ABANDON_AFTER_S), "metrics-listen": "127.0.0.1:0" },
  });
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs requestMachines, killing the client after `killAfterMs`; the id it printed, if any. */
async function requestKilledAfter(killAfterMs: number): Promise<string | undefined> {
  const input = join(dir, "request.json");
  writeFileSync(input, JSON.stringify(ASK));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), killAfterMs);
  try {
    const result = await runProcess("sh", [SCRIPT, "-f", input], {
      env: { ...process.env, HOSTFACTORY_NODE: process.execPath, HOSTFACTORY_ADDRESS: h.address },
      signal: controller.signal,
    });
    const answer = JSON.parse(result.stdout || "{}") as { requestId?: string };
    return answer.requestId;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

test("a create request HostFactory never asks about is abandoned: machines fail, pods go, an Event and a metric say so", async () => {
  const asked = await h.script("requestMachines", ASK);
  assert.equal(asked.code, 0, asked.stdout);
  const requestId = String(asked.json?.requestId);
  const ofRequest = () => h.pods().filter((p) => p.labels[LABEL_REQUEST_ID] === requestId);
  await waitFor("its pods", () => ofRequest().length === ASK.template.machineCount);
  await waitFor(
    "its pods to be deleted once abandoned",
    () => ofRequest().every((pod) => pod.deleting),
    { timeoutMs: ABANDON_AFTER_S * 1000 + 30_000 },
  );
  const events = h.simulator.store
    .list("events", "default")
    .map((e) => e as unknown as { reason: string; involvedObject: { name: string } })
    .filter((e) => e.involvedObject.name === `hostfactory-${requestId}`);
  assert.ok(events.some((e) => e.reason === "RequestAbandoned"));
  const metrics = await (await fetch(`http://${h.sidecar?.metricsAddress}/metrics`)).text();
  assert.match(metrics, /hostfactory_requests_abandoned_total\{template="compute-small"\} 1/);
  // Asked at last, it answers what became of it.
  const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
  const [request] = (result.json?.requests ?? []) as { status: string; message: string }[];
  assert.equal(request?.status, "complete_with_error");
  assert.match(String(request?.message), /never asked about this request within 8s/);
});

test("a call past its deadline once its record is stored keeps nothing: its machines fail, no pod stays", async () => {
  const slow = h.simulator.faults.addLatency({
    verbs: ["create"],
    resources: ["configmaps"],
    delayMs: 1_000,
  });
  const client = connect(h.address);
  const before = new Set(h.simulator.store.list("configmaps", "default").map(nameOf));
  try {
    const outcome = await call(
      client,
      "requestMachines",
      { templateId: "compute-small", machineCount: 2, rcAccount: "" },
      300,
    );
    assert.ok(!outcome.ok && outcome.code === grpc.status.DEADLINE_EXCEEDED);
  } finally {
    client.close();
  }
  const record = await waitFor("the record the call stored", () =>
    h.simulator.store
      .list("configmaps", "default")
      .find((c) => !before.has(nameOf(c)) && c.metadata.labels?.[LABEL_RECORD_KIND] === "create"),
  );
  slow();
  const requestId = String(record.metadata.labels?.[LABEL_REQUEST_ID]);
  await waitFor("every machine failed and no live pod of it", () => {
    const data =
      (
        h.simulator.store.get("configmaps", "default", nameOf(record)) as {
          data?: Record<string, string>;
        }
      ).data ?? {};
    const failed = Object.values(data).filter((v) => /before its id was delivered/.test(v));
    const live = h.pods().filter((p) => p.labels[LABEL_REQUEST_ID] === requestId && !p.deleting);
    return failed.length > 0 && data["failure.0"] && data["failure.1"] && live.length === 0;
  });
});

test("clients killed at random points of requestMachines leave no pod behind", async (t) => {
  const seed = testSeed();
  t.diagnostic(`seed=${seed} (replay with HOSTFACTORY_TEST_SEED=${seed})`);
  const random = seededRandom(seed);
  const written = new Set<string>();
  const unsubscribe = h.simulator.store.subscribe("configmaps", (event) => {
    const labels = event.object.metadata.labels ?? {};
    if (event.type === "ADDED" && labels[LABEL_RECORD_KIND] === "create") {
      written.add(String(labels[LABEL_REQUEST_ID]));
    }
  });
  const slow = h.simulator.faults.addLatency({
    verbs: ["create"],
    resources: ["configmaps"],
    delayMs: RECORD_WRITE_LATENCY_MS,
  });
  const delivered = new Set<string>();
  const askAbout = async (requestId: string) => {
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    assert.equal(result.code, 0, result.stdout);
  };
  try {
    // One whole call, to know how long one takes here: kills land anywhere within that.
    const started = performance.now();
    const first = await requestKilledAfter(60_000);
    const wholeMs = performance.now() - started;
    assert.ok(first, "an undisturbed call answers");
    delivered.add(first);
    await askAbout(first);
    for (let round = 0; round < ROUNDS; round++) {
      const requestId = await requestKilledAfter(random() * wholeMs * 1.1);
      if (requestId) {
        delivered.add(requestId);
        await askAbout(requestId);
      }
    }
  } finally {
    slow();
  }
  const undelivered = [...written].filter((id) => !delivered.has(id));
  t.diagnostic(
    `${ROUNDS} kills: ${delivered.size - 1} answers read, ${undelivered.length} records written for answers never read`,
  );

  // What is left of those requests ends failed, machine by machine, saying why (at once when the
  // sidecar saw the call cancelled, else after --abandon-after), and none of their pods lives on.
  const recordData = (requestId: string) => {
    const configMap = h.simulator.store.get("configmaps", "default", `hostfactory-${requestId}`);
    return (configMap as { data?: Record<string, string> } | undefined)?.data ?? {};
  };
  const failures = (requestId: string) =>
    Object.keys(recordData(requestId)).filter((key) => key.startsWith("failure."));
  await waitFor(
    "every request whose id never reached HostFactory failed, and none of its pods live",
    () =>
      h
        .pods()
        .every((pod) => pod.deleting || delivered.has(String(pod.labels[LABEL_REQUEST_ID]))) &&
      undelivered.every(
        (requestId) =>
          !h.simulator.store.get("configmaps", "default", `hostfactory-${requestId}`) ||
          failures(requestId).length === ASK.template.machineCount,
      ),
    { timeoutMs: ABANDON_AFTER_S * 1000 + 30_000 },
  );
  unsubscribe();
  for (const requestId of undelivered) {
    if (failures(requestId).length === 0) continue;
    const reasons = Object.values(recordData(requestId));
    assert.ok(
      reasons.some((value) => /^abandoned: /.test(value)),
      `${requestId} says why`,
    );
  }
  // HostFactory asked about the others: they are never abandoned.
  for (const requestId of delivered) {
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    const [request] = (result.json?.requests ?? []) as { status: string }[];
    assert.notEqual(request?.status, "complete_with_error", `${requestId} was asked about`);
  }
});
