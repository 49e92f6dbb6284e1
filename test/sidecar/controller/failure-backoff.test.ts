import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createFailureBackoff,
  RETRY_JITTER_FRACTION,
} from "../../../sidecar/controller/failure-backoff.ts";

/** A backoff on a clock the test moves, with no jitter unless `random` says so. */
function backoffAt(options: Parameters<typeof createFailureBackoff>[0] = {}) {
  const clock = { now: 0 };
  const backoff = createFailureBackoff({ random: () => 0, ...options, now: () => clock.now });
  return { clock, backoff };
}

test("each failure of an item doubles its delay, up to the cap", () => {
  const { backoff } = backoffAt({ initialDelayMs: 10, maxDelayMs: 100 });
  const delays = Array.from({ length: 6 }, () => backoff.failed("hf-a-0"));
  assert.deepEqual(delays, [10, 20, 40, 80, 100, 100]);
  assert.equal(backoff.failures("hf-a-0"), 6);
});

test("an item waits out its delay, then is due", () => {
  const { clock, backoff } = backoffAt({ initialDelayMs: 10 });
  backoff.failed("hf-a-0");
  backoff.failed("hf-a-0");
  assert.equal(backoff.isWaiting("hf-a-0"), true);
  clock.now = 19;
  assert.equal(backoff.isWaiting("hf-a-0"), true);
  clock.now = 20;
  assert.equal(backoff.isWaiting("hf-a-0"), false);
  assert.equal(backoff.failures("hf-a-0"), 2, "being due does not reset the count");
});

test("items back off independently, and success resets only its own item", () => {
  const { backoff } = backoffAt({ initialDelayMs: 10 });
  backoff.failed("hf-a-0");
  backoff.failed("hf-a-0");
  assert.equal(backoff.failed("hf-a-1"), 10);
  backoff.forget("hf-a-0");
  assert.equal(backoff.isWaiting("hf-a-0"), false);
  assert.equal(backoff.failed("hf-a-0"), 10, "starts again from the first delay");
  assert.equal(backoff.failures("hf-a-1"), 1);
});

test("jitter shortens a delay by at most its fraction", () => {
  const { backoff } = backoffAt({ initialDelayMs: 1_000, random: () => 0.999_999 });
  const retryAt = backoff.failed("hf-a-0");
  assert.ok(retryAt >= 1_000 * (1 - RETRY_JITTER_FRACTION), `${retryAt}`);
  assert.ok(retryAt < 1_000);
});

test("the overall bucket spaces the retries of many items once its burst is spent", () => {
  const { backoff } = backoffAt({ initialDelayMs: 1, qps: 10, burst: 3 });
  const retryAt = ["a", "b", "c", "d", "e"].map((key) => backoff.failed(key));
  assert.deepEqual(retryAt, [1, 1, 1, 100, 200]);
});

test("the bucket refills at its rate", () => {
  const { clock, backoff } = backoffAt({ initialDelayMs: 1, qps: 10, burst: 1 });
  backoff.failed("a");
  clock.now = 100;
  assert.equal(backoff.failed("b"), 101, "a token came back after 100 ms");
});

test("nextRetryAt is the earliest pending retry", () => {
  const { clock, backoff } = backoffAt({ initialDelayMs: 10 });
  assert.equal(backoff.nextRetryAt(), undefined);
  backoff.failed("a");
  backoff.failed("a");
  backoff.failed("b");
  assert.equal(backoff.nextRetryAt(), 10);
  clock.now = 10;
  assert.equal(backoff.nextRetryAt(), 20, "a retry already due is not pending");
  assert.deepEqual([...backoff.keys()], ["a", "b"]);
});

test("settings that cannot work are refused", () => {
  assert.throws(() => createFailureBackoff({ initialDelayMs: 0 }), /initial delay/);
  assert.throws(
    () => createFailureBackoff({ initialDelayMs: 100, maxDelayMs: 10 }),
    /below the initial/,
  );
});
