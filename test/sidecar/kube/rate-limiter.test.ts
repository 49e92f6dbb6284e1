import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { createListWatchCache } from "../../../sidecar/kube/list-watch.ts";
import { namespacedPods } from "../../../sidecar/kube/list-watch-sources.ts";
import { projectPod } from "../../../sidecar/kube/pod-view.ts";
import {
  type ApiCall,
  createRateLimiter,
  MAX_PASSED_OVER,
} from "../../../sidecar/kube/rate-limiter.ts";
import { waitFor } from "../../tools/wait-for.ts";
import { type Harness, NAMESPACE, podBody, startSimulator } from "./_simulator.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const tooManyRequests = (retryAfterSeconds: string) =>
  new ApiException(
    429,
    "Unknown API Status Code!",
    JSON.stringify({ kind: "Status", code: 429, reason: "TooManyRequests", message: "slow down" }),
    { "retry-after": retryAfterSeconds },
  );

describe("createRateLimiter", () => {
  it("lets a burst through at once and holds the rest to the QPS", async () => {
    const limiter = createRateLimiter({ qps: 20, burst: 5, maxInFlight: 100 });
    const startedAt = performance.now();
    const calls = Array.from({ length: 30 }, () => limiter.schedule(async () => performance.now()));
    // The burst starts synchronously; the other 25 wait for tokens.
    assert.equal(limiter.stats.started, 5);
    assert.equal(limiter.stats.waiting, 25);
    const times = await Promise.all(calls);
    // 25 tokens at 20/s take at least 1.25 s to accrue (a loaded machine can only be slower).
    assert.ok(performance.now() - startedAt >= 1_200);
    // A token bucket never lets more than burst + qps × window start in any window, however late
    // its timers fire on a loaded machine: 5 + 10 (+1 for the window edge) in 500 ms.
    const afterBurst = times.slice(5);
    for (const t of afterBurst) {
      const inWindow = afterBurst.filter((u) => u >= t && u < t + 500).length;
      assert.ok(inWindow <= 16, `${inWindow} calls started within 500 ms`);
    }
    assert.equal(limiter.stats.waiting, 0);
  });

  it("never has more than maxInFlight calls running", async () => {
    const limiter = createRateLimiter({ qps: Number.POSITIVE_INFINITY, maxInFlight: 3 });
    let running = 0;
    let peak = 0;
    const gates = Array.from({ length: 10 }, () => deferred());
    const calls = gates.map((gate) =>
      limiter.schedule(async () => {
        running++;
        peak = Math.max(peak, running);
        await gate.promise;
        running--;
      }),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(limiter.stats.inFlight, 3);
    assert.equal(limiter.stats.waiting, 7);
    for (const gate of gates) {
      gate.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(calls);
    assert.equal(peak, 3);
    assert.equal(limiter.stats.inFlight, 0);
  });

  it("pauses every caller for a 429's Retry-After", async () => {
    const limiter = createRateLimiter({ qps: 1_000, burst: 10 });
    let failedAt = 0;
    const throttledCall = limiter.schedule(async () => {
      failedAt = performance.now();
      throw tooManyRequests("1");
    });
    await assert.rejects(throttledCall, ApiException);
    assert.equal(limiter.stats.throttled, 1);
    assert.ok(limiter.stats.pausedForMs > 0);
    const startTimes = await Promise.all(
      Array.from({ length: 3 }, () => limiter.schedule(async () => performance.now())),
    );
    for (const t of startTimes)
      assert.ok(t - failedAt >= 990, `started ${t - failedAt} ms after the 429`);
  });

  it("drops a queued call whose signal aborts and keeps serving the others", async () => {
    const limiter = createRateLimiter({ qps: 1_000, maxInFlight: 1 });
    const gate = deferred();
    const first = limiter.schedule(() => gate.promise);
    const controller = new AbortController();
    const abandoned = limiter.schedule(async () => "never", controller.signal);
    const later = limiter.schedule(async () => "served");
    controller.abort(new Error("caller gave up"));
    await assert.rejects(abandoned, /caller gave up/);
    assert.equal(limiter.stats.waiting, 1);
    gate.resolve();
    await first;
    assert.equal(await later, "served");
    assert.equal(limiter.stats.started, 2);
  });

  it("serves reads before record writes before the bulk, each lane in arrival order", async () => {
    const limiter = createRateLimiter({ qps: 50, burst: 1, maxInFlight: 100 });
    const order: string[] = [];
    const run = (name: string, call: ApiCall) =>
      limiter.schedule(async () => void order.push(name), undefined, call);
    const calls = Array.from({ length: 10 }, (_, i) =>
      run(`create-${i}`, { verb: "create", resource: "pods" }),
    );
    calls.push(run("record", { verb: "patch", resource: "configmaps", lane: "record" }));
    calls.push(run("relist", { verb: "list", resource: "pods" }));
    calls.push(run("watch", { verb: "watch", resource: "pods" }));
    assert.deepEqual(limiter.stats.waitingByLane, { read: 2, record: 1, bulk: 9 });
    await Promise.all(calls);
    assert.deepEqual(order, [
      "create-0", // took the only token before anything else was queued
      "relist",
      "watch",
      "record",
      ...Array.from({ length: 9 }, (_, i) => `create-${i + 1}`),
    ]);
  });

  it("gives a lane passed over MAX_PASSED_OVER times in a row the next call", async () => {
    const limiter = createRateLimiter({ qps: 200, burst: 1, maxInFlight: 100 });
    const order: string[] = [];
    const run = (name: string, call: ApiCall) =>
      limiter.schedule(async () => void order.push(name), undefined, call);
    const first = run("read-0", { verb: "get", resource: "configmaps" });
    // Reads enough to use up the rate, and creates behind them.
    const calls = [
      first,
      ...Array.from({ length: 2 }, (_, i) =>
        run(`create-${i}`, { verb: "create", resource: "pods" }),
      ),
      ...Array.from({ length: 12 }, (_, i) =>
        run(`read-${i + 1}`, { verb: "get", resource: "configmaps" }),
      ),
    ];
    await Promise.all(calls);
    const reads = (from: number) =>
      Array.from({ length: MAX_PASSED_OVER }, (_, i) => `read-${from + i}`);
    assert.deepEqual(order, [
      "read-0", // took the only token before anything else was queued
      ...reads(1),
      "create-0",
      ...reads(1 + MAX_PASSED_OVER),
      "create-1",
      ...Array.from(
        { length: 12 - 2 * MAX_PASSED_OVER },
        (_, i) => `read-${1 + 2 * MAX_PASSED_OVER + i}`,
      ),
    ]);
  });

  it("keeps in-flight slots from the bulk for reads", async () => {
    const limiter = createRateLimiter({
      qps: Number.POSITIVE_INFINITY,
      maxInFlight: 8,
      reservedInFlight: 2,
    });
    const gate = deferred();
    const creates = Array.from({ length: 20 }, () =>
      limiter.schedule(() => gate.promise, undefined, { verb: "create", resource: "pods" }),
    );
    assert.equal(limiter.stats.inFlight, 6, "the bulk stops two short of the cap");
    const read = limiter.schedule(async () => "listed", undefined, {
      verb: "list",
      resource: "pods",
    });
    assert.equal(limiter.stats.inFlight, 7);
    assert.equal(await read, "listed");
    gate.resolve();
    await Promise.all(creates);
    assert.equal(limiter.stats.started, 21);
  });

  it("rejects nonsensical settings", () => {
    assert.throws(() => createRateLimiter({ qps: 0 }), RangeError);
    assert.throws(() => createRateLimiter({ burst: 0 }), RangeError);
    assert.throws(() => createRateLimiter({ maxInFlight: 0 }), RangeError);
  });

  describe("against the API server", () => {
    let h: Harness;
    after(() => h?.sim.close());
    const list = () => h.core.listNamespacedPod({ namespace: NAMESPACE });

    it("holds real requests to the QPS", async () => {
      h = await startSimulator({ nodes: [] });
      const limiter = createRateLimiter({ qps: 20, burst: 5 });
      const before = h.sim.counters.get("list", "pods");
      const startedAt = performance.now();
      const calls = Array.from({ length: 30 }, () => limiter.schedule(list));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const elapsedS = (performance.now() - startedAt) / 1000;
      const served = h.sim.counters.get("list", "pods") - before;
      assert.ok(served <= 5 + 20 * elapsedS + 1, `${served} lists in ${elapsedS} s`);
      await Promise.all(calls);
      assert.equal(h.sim.counters.get("list", "pods") - before, 30);
    });

    it("a relist the watch needs while 200 pod creates are queued is served before them", async () => {
      h ??= await startSimulator({ nodes: [] });
      const limiter = createRateLimiter({ qps: 20, burst: 1 });
      const cache = createListWatchCache({
        kubeConfig: h.kubeConfig,
        source: namespacedPods(h.core, NAMESPACE),
        project: projectPod,
        key: (pod) => pod.name,
        limiter,
        backoffBaseMs: 20,
      });
      await cache.start();
      const giveUp = new AbortController();
      const creates = Array.from({ length: 200 }, (_, i) =>
        limiter
          .schedule(
            () => h.core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(`burst-${i}`) }),
            giveUp.signal,
            { verb: "create", resource: "pods" },
          )
          .catch(() => {}),
      );
      try {
        h.sim.faults.injectErrors({ verbs: ["watch"], resources: ["pods"], code: 410, count: 1 });
        h.sim.faults.dropWatches("pods");
        await waitFor("the relist", () => cache.stats.relists === 1, { timeoutMs: 60_000 });
        const createdBeforeRelist = h.sim.counters.answered("create", "pods", 201);
        assert.ok(
          limiter.stats.waitingByLane.bulk > 0 && createdBeforeRelist < 200,
          `the relist finished after ${createdBeforeRelist} of 200 creates`,
        );
        await waitFor("the watch to resume", () => h.sim.watchCount("pods") === 1, {
          timeoutMs: 60_000,
        });
      } finally {
        giveUp.abort();
        await Promise.all(creates);
        await cache.stop();
      }
    });

    it("pauses every caller when the API server answers 429 with Retry-After", async () => {
      h ??= await startSimulator({ nodes: [] });
      const limiter = createRateLimiter();
      h.sim.faults.injectErrors({
        verbs: ["list"],
        resources: ["pods"],
        code: 429,
        retryAfterSeconds: 1,
        count: 1,
      });
      const throttledAt = performance.now();
      await assert.rejects(
        limiter.schedule(list),
        (e: unknown) => e instanceof ApiException && e.code === 429,
      );
      assert.equal(limiter.stats.throttled, 1);
      const startTimes = await Promise.all(
        Array.from({ length: 3 }, () =>
          limiter.schedule(async () => {
            const startedAt = performance.now();
            await list();
            return startedAt;
          }),
        ),
      );
      for (const t of startTimes)
        assert.ok(t - throttledAt >= 990, `started ${t - throttledAt} ms after the 429`);
    });
  });
});
