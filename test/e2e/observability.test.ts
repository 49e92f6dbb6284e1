// What an operator sees: Prometheus metrics that add up to what a request did, Kubernetes Events
// on the request's record, a plain health port for native probes, and logs that name the request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { type Harness, healthStatus, startHarness } from "./harness.ts";

let h: Harness;
const logs: Record<string, unknown>[] = [];
let created = "";
let failed = "";

async function finished(requestId: string): Promise<void> {
  await waitFor(`${requestId} to finish`, async () => {
    const result = await h.script("getRequestStatus", { requests: [{ requestId }] });
    const [request] = (result.json?.requests ?? []) as { status: string }[];
    return request?.status !== "running";
  });
}

before(async () => {
  h = await startHarness({
    flags: { "metrics-listen": "127.0.0.1:0", "health-listen": "127.0.0.1:0" },
    simulator: { podStartDelayMs: 20, podStartJitterMs: 10 },
    logs,
  });
  const asked = await h.script("requestMachines", {
    template: { templateId: "compute-small", machineCount: 3 },
  });
  created = String(asked.json?.requestId);
  await finished(created);
  const status = await h.script("getRequestStatus", { requests: [{ requestId: created }] });
  const [request] = (status.json?.requests ?? []) as {
    machines: { name: string; machineId: string }[];
  }[];
  const returned = await h.script("requestReturnMachines", {
    machines: request?.machines.slice(0, 1),
  });
  await finished(String(returned.json?.requestId));
  const huge = await h.script("requestMachines", {
    template: { templateId: "compute-huge", machineCount: 1 },
  });
  failed = String(huge.json?.requestId);
  await finished(failed);
});
after(async () => {
  await h.close();
});

/** The value of one sample in a Prometheus text exposition; undefined when absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

test("the metrics endpoint shows what the requests did", async () => {
  const response = await fetch(`http://${h.sidecar?.metricsAddress}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  const small = { template: "compute-small" };
  assert.equal(sample(text, "hostfactory_machines_requested_total", small), 3);
  assert.equal(sample(text, "hostfactory_pods_created_total", small), 3);
  assert.equal(sample(text, "hostfactory_machines_returned_total"), 1);
  assert.equal(sample(text, "hostfactory_machines_failed_total", { template: "compute-huge" }), 1);
  assert.equal(
    sample(text, "hostfactory_machine_start_duration_seconds_count", { stage: "running" }),
    3,
  );
  assert.equal(
    sample(text, "hostfactory_grpc_calls_total", { method: "RequestMachines", code: "OK" }),
    2,
  );
  assert.equal(
    sample(text, "hostfactory_kube_api_calls_total", {
      verb: "create",
      resource: "pods",
      code: "ok",
    }),
    4,
  );
  assert.equal(sample(text, "hostfactory_machines", { ...small, phase: "Running" }), 2);
  assert.equal(sample(text, "hostfactory_leader"), 1);
  assert.equal(sample(text, "hostfactory_cache_objects", { cache: "pods" }), 2);
  assert.ok(
    (sample(text, "hostfactory_grpc_call_duration_seconds_count", { method: "GetRequestStatus" }) ??
      0) > 0,
  );
});

test("request records carry Events: completion, and failed machines with the reason", async () => {
  const events = h.simulator.store.list("events", "default").map(
    (e) =>
      e as unknown as {
        involvedObject: { name: string };
        reason: string;
        type: string;
        message: string;
      },
  );
  const of = (requestId: string) =>
    events.filter((e) => e.involvedObject.name === `hostfactory-${requestId}`);
  assert.deepEqual(
    of(created).map((e) => [e.type, e.reason]),
    [["Normal", "RequestComplete"]],
  );
  const failure = of(failed).find((e) => e.reason === "MachineFailed");
  assert.equal(failure?.type, "Warning");
  assert.match(
    failure?.message ?? "",
    /1 machine failed: Pod stayed Pending for 2s: 0\/3 nodes are available/,
  );
  assert.ok(of(failed).some((e) => e.reason === "RequestCompleteWithError"));
});

test("the plain health port answers grpc.health.v1 for native probes", async () => {
  assert.equal(await healthStatus(String(h.sidecar?.healthAddress), ""), "SERVING");
});

test("log lines about a request carry its request id", () => {
  const about = (requestId: string) =>
    logs.filter((l) => l.requestId === requestId).map((l) => l.msg);
  assert.ok(about(created).includes("machines requested"), JSON.stringify(about(created)));
  assert.ok(about(created).includes("request complete"));
  assert.ok(about(failed).includes("machines failed"));
  const unnamed = logs.filter(
    (l) =>
      typeof l.msg === "string" &&
      /request complete|machines failed|machines requested/.test(l.msg) &&
      !l.requestId,
  );
  assert.deepEqual(unnamed, []);
});
