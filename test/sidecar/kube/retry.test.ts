import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { KubeApiError } from "../../../sidecar/kube/api-errors.ts";
import { withRetry } from "../../../sidecar/kube/retry.ts";
import { type Harness, NAMESPACE, podBody, startSimulator } from "./_simulator.ts";

const failure = (code: number, reason: string, headers: Record<string, string> = {}) =>
  new ApiException(
    code,
    "Unknown API Status Code!",
    JSON.stringify({ kind: "Status", code, reason, message: `${reason} happened` }),
    headers,
  );

const fast = { baseMs: 1, capMs: 5 };

describe("withRetry", () => {
  it("retries 503 until the call succeeds", async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw failure(503, "ServiceUnavailable");
        return "ok";
      },
      { ...fast, onRetry: (_e, _attempt, delayMs) => delays.push(delayMs) },
    );
    assert.equal(result, "ok");
    assert.equal(calls, 3);
    assert.equal(delays.length, 2);
  });

  for (const [code, reason] of [
    [422, "Invalid"],
    [403, "Forbidden"],
    [404, "NotFound"],
  ] as const) {
    it(`throws ${code} ${reason} at once, classified`, async () => {
      let calls = 0;
      const error = await withRetry(async () => {
        calls++;
        throw failure(code, reason);
      }, fast).catch((e: unknown) => e);
      assert.equal(calls, 1);
      assert.ok(error instanceof KubeApiError);
      assert.equal(error.status, code);
      assert.equal(error.message, `${reason} happened`);
    });
  }

  it("gives up after the attempts allowed", async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw failure(500, "InternalError");
        },
        { ...fast, attempts: 4 },
      ),
      (e: unknown) => e instanceof KubeApiError && e.kind === "transient",
    );
    assert.equal(calls, 4);
  });

  it("waits at least the server's Retry-After", async () => {
    const delays: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        if (calls++ === 0) throw failure(429, "TooManyRequests", { "retry-after": "0.2" });
      },
      { ...fast, onRetry: (_e, _attempt, delayMs) => delays.push(delayMs) },
    );
    assert.deepEqual(delays, [200]);
  });

  it("does not start a wait that would end past maxElapsedMs", async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw failure(503, "ServiceUnavailable", { "retry-after": "5" });
        },
        { ...fast, maxElapsedMs: 1_000 },
      ),
      KubeApiError,
    );
    assert.equal(calls, 1);
  });

  it("stops waiting when its signal aborts", async () => {
    const controller = new AbortController();
    const attempt = withRetry(
      async () => {
        throw failure(503, "ServiceUnavailable", { "retry-after": "10" });
      },
      { signal: controller.signal, maxElapsedMs: 60_000 },
    );
    setTimeout(() => controller.abort(new Error("shutting down")), 20);
    await assert.rejects(attempt, /shutting down/);
  });

  describe("against the API server", () => {
    let h: Harness;
    after(() => h?.sim.close());

    it("retries 503 answers until the list succeeds, honouring their Retry-After", async () => {
      h = await startSimulator({ nodes: [] });
      h.sim.faults.injectErrors({ verbs: ["list"], resources: ["pods"], code: 503, count: 2 });
      const before = h.sim.counters.get("list", "pods");
      const startedAt = performance.now();
      let attempts = 0;
      await withRetry(
        (attempt) => {
          attempts = attempt;
          return h.core.listNamespacedPod({ namespace: NAMESPACE });
        },
        { baseMs: 1, capMs: 5, maxElapsedMs: 10_000 },
      );
      assert.equal(attempts, 3);
      // The simulator's 503 says Retry-After: 1, twice.
      assert.ok(performance.now() - startedAt >= 1_990);
      assert.equal(h.sim.counters.get("list", "pods") - before, 3);
    });

    it("gives up at once on a 422 and keeps the API server's message", async () => {
      h ??= await startSimulator({ nodes: [] });
      const before = h.sim.counters.get("create", "pods");
      const invalid = podBody("no-containers");
      invalid.spec = { containers: [] };
      const error = await withRetry(() =>
        h.core.createNamespacedPod({ namespace: NAMESPACE, body: invalid }),
      ).catch((e: unknown) => e);
      assert.ok(error instanceof KubeApiError);
      assert.equal(error.kind, "permanent");
      assert.equal(error.status, 422);
      assert.match(error.message, /^Pod "no-containers" is invalid: spec\.containers/);
      assert.equal(h.sim.counters.get("create", "pods") - before, 1);
    });

    it("gives up at once on a 403", async () => {
      h ??= await startSimulator({ nodes: [] });
      h.sim.faults.injectErrors({
        verbs: ["create"],
        resources: ["pods"],
        code: 403,
        count: 1,
        message: "exceeded quota: compute",
      });
      const before = h.sim.counters.get("create", "pods");
      await assert.rejects(
        withRetry(() =>
          h.core.createNamespacedPod({ namespace: NAMESPACE, body: podBody("quota") }),
        ),
        (e: unknown) =>
          e instanceof KubeApiError &&
          e.kind === "permanent" &&
          e.message === "exceeded quota: compute",
      );
      assert.equal(h.sim.counters.get("create", "pods") - before, 1);
    });
  });
});
