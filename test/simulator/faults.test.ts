// Fault injection, from tests (sim.faults) and over HTTP (/simulator/faults), plus the ground
// truth tests read: counters and the event log.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { collect, type Env, raw, rawWatch, startEnv } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await startEnv({ seed: 11 });
});
beforeEach(() => env.sim.faults.clear());
after(() => env.sim.close());

const listConfigMaps = () => env.core.listNamespacedConfigMap({ namespace: "default" });

describe("errors and latency", () => {
  test("an error rule answers the chosen code with a Status body, for the chosen verb and resource only", async () => {
    env.sim.faults.injectErrors({ verbs: ["list"], resources: ["configmaps"], code: 503 });
    await assert.rejects(listConfigMaps(), (error: { code: number; body: string }) => {
      assert.equal(error.code, 503);
      assert.equal(JSON.parse(error.body).reason, "ServiceUnavailable");
      return true;
    });
    await env.core.listNamespacedPod({ namespace: "default" });
    await env.core.readNamespace({ name: "default" });
  });

  test("a 500 rule answers InternalError", async () => {
    env.sim.faults.injectErrors({ resources: ["configmaps"], code: 500, count: 1 });
    await assert.rejects(
      listConfigMaps(),
      (error: { code: number; body: string }) =>
        error.code === 500 && JSON.parse(error.body).reason === "InternalError",
    );
  });

  test("a 429 rule sends Retry-After and the TooManyRequests reason", async () => {
    env.sim.faults.injectErrors({ verbs: ["create"], code: 429, retryAfterSeconds: 3 });
    const response = await raw(env.sim, "POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "limited" },
    });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "3");
    assert.equal(response.json.reason, "TooManyRequests");
    assert.equal(response.json.details.retryAfterSeconds, 3);
  });

  test("count retires a rule after that many failures", async () => {
    env.sim.faults.injectErrors({ verbs: ["list"], code: 500, count: 2 });
    await assert.rejects(listConfigMaps());
    await assert.rejects(listConfigMaps());
    await listConfigMaps();
    assert.deepEqual(env.sim.faults.config().errors, []);
  });

  test("rate fails about that share of requests, the same ones for the same seed", async () => {
    const outcomes = async () => {
      const local = await startEnv({ seed: 99 });
      local.sim.faults.injectErrors({ verbs: ["list"], code: 500, rate: 0.5 });
      const results: boolean[] = [];
      for (let i = 0; i < 40; i++) {
        results.push(
          await local.core.listNamespacedConfigMap({ namespace: "default" }).then(
            () => true,
            () => false,
          ),
        );
      }
      await local.sim.close();
      return results;
    };
    const first = await outcomes();
    const failures = first.filter((ok) => !ok).length;
    assert.ok(failures > 8 && failures < 32, `${failures} of 40 failed`);
    assert.deepEqual(await outcomes(), first);
  });

  test("latency delays matching requests and only those", async () => {
    env.sim.faults.addLatency({ verbs: ["get"], delayMs: 1000 });
    const finished: string[] = [];
    const started = Date.now();
    const delayed = env.core.readNamespace({ name: "default" }).then(() => {
      finished.push("get");
      return Date.now() - started;
    });
    await listConfigMaps();
    finished.push("list");
    assert.ok((await delayed) >= 990, "the get waited for its latency");
    assert.deepEqual(finished, ["list", "get"], "the list, issued after, was not delayed");
  });

  test("a rate limit answers 429 with Retry-After beyond the burst", async () => {
    env.sim.faults.setRateLimit({ qps: 1, burst: 3 });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await raw(env.sim, "GET", "/api/v1/namespaces/default/configmaps")).status);
    assert.deepEqual(codes, [200, 200, 200, 429, 429]);
    const limited = await raw(env.sim, "GET", "/api/v1/namespaces/default/configmaps");
    assert.equal(limited.headers.get("retry-after"), "1");
    // As API priority and fairness answers: plain text, not a Status.
    assert.equal(limited.text, "Too many requests, please try again later.\n");
  });
});

describe("watch faults", () => {
  test("dropWatches ends every watch cleanly", async () => {
    const watch = await collect(env.kc, "/api/v1/namespaces/default/configmaps");
    await waitFor("the watch to register", () => env.sim.watchCount("configmaps") === 1);
    assert.equal(env.sim.faults.dropWatches(), 1);
    assert.equal(await watch.done, null);
  });

  test("resetWatches breaks the connections (the client sees a reset)", async () => {
    const ended = rawWatch(env.sim, "/api/v1/namespaces/default/configmaps");
    await waitFor("the watch to register", () => env.sim.watchCount("configmaps") === 1);
    assert.equal(env.sim.faults.resetWatches("configmaps"), 1);
    assert.equal(await ended, "ECONNRESET");
  });

  test("a stalled watch stays open and receives nothing until resumed", async () => {
    const watch = await collect(env.kc, "/api/v1/namespaces/default/configmaps", {
      resourceVersion: String(env.sim.store.resourceVersion),
    });
    await waitFor("the watch to register", () => env.sim.watchCount("configmaps") === 1);
    env.sim.faults.stallWatches();
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "during-stall" } },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(watch.events.length, 0);
    assert.equal(env.sim.watchCount("configmaps"), 1, "still connected");
    env.sim.faults.resumeWatches();
    await watch.until("the held event", (events) => events.length === 1);
    watch.stop();
    await env.core.deleteNamespacedConfigMap({ namespace: "default", name: "during-stall" });
  });

  test("compactHistory makes the next resume from an older resourceVersion get 410", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "compacted" } },
    });
    await env.core.deleteNamespacedConfigMap({ namespace: "default", name: "compacted" });
    env.sim.faults.compactHistory();
    const watch = await collect(env.kc, "/api/v1/namespaces/default/configmaps", {
      resourceVersion: cm.metadata?.resourceVersion as string,
    });
    await watch.done;
    assert.equal(watch.events[0]?.type, "ERROR");
    assert.equal(watch.events[0]?.object.code, 410);
  });

  test("restart drops every watch, refuses connections during downtime and forgets history", async () => {
    const before = env.sim.store.resourceVersion;
    const watches = [
      rawWatch(env.sim, "/api/v1/namespaces/default/configmaps"),
      rawWatch(env.sim, "/api/v1/pods"),
    ];
    await waitFor("both watches", () => env.sim.watchCount() === 2);
    const restarting = env.sim.faults.restart({ downtimeMs: 300 });
    assert.deepEqual(await Promise.all(watches), ["ECONNRESET", "ECONNRESET"]);
    await assert.rejects(fetch(`${env.sim.url}/version`));
    await restarting;
    assert.equal((await raw(env.sim, "GET", "/version")).status, 200);
    const resumed = await collect(env.kc, "/api/v1/namespaces/default/configmaps", {
      resourceVersion: String(before - 1),
    });
    await resumed.done;
    assert.equal(resumed.events[0]?.object.code, 410);
  });
});

describe("admin endpoint", () => {
  test("PUT /simulator/faults sets the faults and GET reads them back", async () => {
    const config = {
      errors: [{ verbs: ["list"], resources: ["pods"], code: 503 }],
      latency: [],
      rateLimit: null,
      watchesStalled: false,
    };
    const put = await raw(env.sim, "PUT", "/simulator/faults", config);
    assert.equal(put.status, 200);
    assert.deepEqual((await raw(env.sim, "GET", "/simulator/faults")).json, config);
    await assert.rejects(
      env.core.listNamespacedPod({ namespace: "default" }),
      (error: { code: number }) => error.code === 503,
    );
    assert.equal((await raw(env.sim, "DELETE", "/simulator/faults")).status, 200);
    await env.core.listNamespacedPod({ namespace: "default" });
  });

  test("POST /simulator/faults/drop-watches ends watches from outside", async () => {
    const watch = await collect(env.kc, "/api/v1/namespaces/default/configmaps");
    await waitFor("the watch to register", () => env.sim.watchCount("configmaps") === 1);
    const response = await raw(env.sim, "POST", "/simulator/faults/drop-watches");
    assert.deepEqual(response.json, { dropped: 1 });
    assert.equal(await watch.done, null);
  });

  test("POST /simulator/nodes adds a node; an unknown admin route answers 404", async () => {
    const added = await raw(env.sim, "POST", "/simulator/nodes", { name: "extra", cpu: "4" });
    assert.equal(added.status, 200);
    assert.equal((await env.core.readNode({ name: "extra" })).status?.allocatable?.cpu, "4");
    assert.equal((await raw(env.sim, "POST", "/simulator/nodes/extra/bogus")).status, 404);
  });
});

describe("ground truth", () => {
  test("counters count requests by verb and resource", async () => {
    env.sim.counters.reset();
    await listConfigMaps();
    await listConfigMaps();
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "counted" } },
    });
    await env.core.readNamespacedConfigMap({ namespace: "default", name: "counted" });
    await env.core
      .replaceNamespacedPodStatus({
        namespace: "default",
        name: "none",
        body: { metadata: { name: "none" } },
      })
      .catch(() => {});
    assert.equal(env.sim.counters.get("list", "configmaps"), 2);
    assert.equal(env.sim.counters.get("create", "configmaps"), 1);
    assert.equal(env.sim.counters.get("get"), 1);
    assert.equal(env.sim.counters.get("update", "pods/status"), 1);
    assert.deepEqual((await raw(env.sim, "GET", "/simulator/counters")).json.list, {
      configmaps: 2,
    });
  });

  test("counters count answers by status code, so a test can tell a create from a 409", async () => {
    env.sim.counters.reset();
    const body = { metadata: { name: "answered" } };
    await env.core.createNamespacedConfigMap({ namespace: "default", body });
    await assert.rejects(env.core.createNamespacedConfigMap({ namespace: "default", body }));
    await waitFor(
      "the 409 to be counted",
      () => env.sim.counters.answered("create", "configmaps", 409) === 1,
    );
    assert.equal(env.sim.counters.answered("create", "configmaps", 201), 1);
    assert.equal(env.sim.counters.get("create", "configmaps"), 2);
  });

  test("the event log records what the cluster did", async () => {
    env.sim.eventLog.clear();
    await env.core.createNamespacedPod({
      namespace: "default",
      body: { metadata: { name: "logged" }, spec: { containers: [{ name: "c", image: "i:1" }] } },
    });
    await waitFor("the started entry", () => env.sim.eventLog.entries("started").length === 1);
    const [scheduled] = env.sim.eventLog.entries("scheduled");
    assert.equal(scheduled?.object, "default/logged");
    assert.match(scheduled?.message ?? "", /^Successfully assigned default\/logged to node-\d$/);
  });
});
