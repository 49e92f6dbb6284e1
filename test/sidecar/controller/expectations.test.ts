import assert from "node:assert/strict";
import { test } from "node:test";
import { createExpectations } from "../../../sidecar/controller/expectations.ts";

test("an expectation holds until it is satisfied", () => {
  const expectations = createExpectations({ now: () => 0 });
  expectations.expect("hf-a-0");
  assert.equal(expectations.has("hf-a-0"), true);
  assert.equal(expectations.has("hf-a-1"), false);
  expectations.satisfy("hf-a-0");
  assert.equal(expectations.has("hf-a-0"), false);
  assert.equal(expectations.size, 0);
});

test("an unmet expectation lapses after its TTL, and is then dropped", () => {
  let now = 1_000;
  const expectations = createExpectations({ ttlMs: 500, now: () => now });
  expectations.expect("hf-a-0");
  now = 1_499;
  assert.equal(expectations.has("hf-a-0"), true);
  now = 1_500;
  assert.equal(expectations.has("hf-a-0"), false);
  assert.equal(expectations.size, 0);
});

test("expecting again renews the TTL", () => {
  let now = 0;
  const expectations = createExpectations({ ttlMs: 100, now: () => now });
  expectations.expect("hf-a-0");
  now = 90;
  expectations.expect("hf-a-0");
  now = 150;
  assert.equal(expectations.has("hf-a-0"), true);
});

test("keys lists every expectation; clear drops them all", () => {
  const expectations = createExpectations({ now: () => 0 });
  expectations.expect("hf-a-0");
  expectations.expect("hf-a-1");
  assert.deepEqual([...expectations.keys()], ["hf-a-0", "hf-a-1"]);
  expectations.clear();
  assert.equal(expectations.size, 0);
});

test("a TTL that is not positive is refused", () => {
  assert.throws(() => createExpectations({ ttlMs: 0 }), /expectation TTL must be positive/);
});
