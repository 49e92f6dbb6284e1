import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { KubeApiError } from "../../../sidecar/kube/api-errors.ts";
import { withRetry } from "../../../sidecar/kube/retry.ts";

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
});
