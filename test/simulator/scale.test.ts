// Scale: 10,000 pods and 100 concurrent watchers on a 2-core machine, with each event rendered
// once however many watchers receive it. Timings and memory are reported as test diagnostics.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { PODS } from "../../sidecar/simulator/resources.ts";
import { waitFor } from "../tools/wait-for.ts";
import { type Env, startEnv } from "./helpers.ts";

const POD_COUNT = 10_000;
const WATCHER_COUNT = 100;

let env: Env;
before(async () => {
  env = await startEnv({ recordEvents: false, historyWindow: POD_COUNT * 2 });
});
after(() => env.sim.close());

/** A raw watch that counts bytes received (the client's JSON parsing is not what is measured). */
function countingWatch(url: string): { bytes: () => number; close: () => void } {
  let bytes = 0;
  const req = request(url);
  req.on("response", (response) => {
    response.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    response.on("error", () => {});
  });
  req.on("error", () => {});
  req.end();
  return { bytes: () => bytes, close: () => req.destroy() };
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

test(`${POD_COUNT} pods reach ${WATCHER_COUNT} watchers, each event rendered once`, async (t) => {
  const from = env.sim.store.resourceVersion;
  const watchers = Array.from({ length: WATCHER_COUNT }, () =>
    countingWatch(`${env.sim.url}/api/v1/pods?watch=true&resourceVersion=${from}`),
  );
  await waitFor("every watcher to connect", () => env.sim.watchCount("pods") === WATCHER_COUNT);
  const statsBefore = env.sim.watchStats();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  for (let i = 0; i < POD_COUNT; i++) {
    env.sim.api.create(PODS, "default", {
      metadata: { name: `scale-${i}`, labels: { app: "scale", index: String(i % 10) } },
      // No scheduler takes these, so each pod is exactly one event.
      spec: {
        schedulerName: "none",
        containers: [{ name: "main", image: "registry.example/compute:1.0" }],
      },
    });
  }
  const stored = performance.now();
  // Each watcher must receive one ADDED line per pod, exactly as the API server writes it.
  let expectedBytes = 0;
  for (const pod of env.sim.store.list("pods", "default")) {
    expectedBytes += Buffer.byteLength(JSON.stringify({ type: "ADDED", object: pod })) + 1;
  }
  await waitFor(
    "every watcher to receive every pod",
    () => watchers.every((watcher) => watcher.bytes() >= expectedBytes),
    {
      timeoutMs: 120_000, // Only stops a hung test; how long delivery took is reported, not judged.
    },
  );
  const delivered = performance.now();
  const stats = env.sim.watchStats();
  for (const watcher of watchers) watcher.close();
  assert.ok(
    watchers.every((watcher) => watcher.bytes() === expectedBytes),
    "no more, no less",
  );

  assert.equal(env.sim.store.count("pods"), POD_COUNT);
  assert.equal(stats.rendered - statsBefore.rendered, POD_COUNT, "one rendering per event");
  assert.equal(stats.delivered - statsBefore.delivered, POD_COUNT * WATCHER_COUNT);
  t.diagnostic(`stored ${POD_COUNT} pods in ${Math.round(stored - started)} ms`);
  t.diagnostic(
    `all ${WATCHER_COUNT} watchers had every event after ${Math.round(delivered - started)} ms`,
  );
  t.diagnostic(
    `heap grew by ${mib(process.memoryUsage().heapUsed - heapBefore)}, rss ${mib(process.memoryUsage().rss)}`,
  );
});

test(`listing ${POD_COUNT} pods returns every one, whole, in pages of 500, or selected`, async (t) => {
  let started = performance.now();
  const all = await env.core.listNamespacedPod({ namespace: "default" });
  assert.equal(all.items.length, POD_COUNT);
  t.diagnostic(`one list of ${POD_COUNT} pods: ${Math.round(performance.now() - started)} ms`);

  started = performance.now();
  let count = 0;
  let token: string | undefined;
  do {
    const page = await env.core.listNamespacedPod({
      namespace: "default",
      limit: 500,
      _continue: token,
    });
    count += page.items.length;
    token = page.metadata?._continue;
  } while (token);
  assert.equal(count, POD_COUNT);
  t.diagnostic(`paged list (500 per page): ${Math.round(performance.now() - started)} ms`);

  started = performance.now();
  const selected = await env.core.listNamespacedPod({
    namespace: "default",
    labelSelector: "index in (3,7)",
  });
  assert.equal(selected.items.length, POD_COUNT / 5);
  t.diagnostic(`label-selected list: ${Math.round(performance.now() - started)} ms`);
});

test("1000 pods created through HTTP, 50 in flight, are each stored once under their own name", async (t) => {
  const count = 1000;
  const before = env.sim.store.count("pods", "kube-public");
  const names = new Set<string>();
  const started = performance.now();
  for (let batch = 0; batch < count / 50; batch++) {
    const created = await Promise.all(
      Array.from({ length: 50 }, () =>
        env.core.createNamespacedPod({
          namespace: "kube-public",
          body: {
            metadata: { generateName: "rate-" },
            spec: { containers: [{ name: "c", image: "i:1" }] },
          },
        }),
      ),
    );
    for (const pod of created) names.add(pod.metadata?.name ?? "");
  }
  const rate = count / ((performance.now() - started) / 1000);
  t.diagnostic(`${Math.round(rate)} pod creates per second over HTTP (client-node, 50 in flight)`);
  assert.equal(names.size, count, "every create answered a distinct generated name");
  assert.ok([...names].every((name) => name.startsWith("rate-")));
  assert.equal(env.sim.store.count("pods", "kube-public") - before, count);
});
