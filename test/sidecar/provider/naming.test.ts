import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkPodNamePrefix,
  newRequestId,
  parsePodName,
  podName,
  podNameOfMachine,
  requestKindOf,
} from "../../../sidecar/provider/naming.ts";

test("request ids tell create from return and are DNS-safe", () => {
  const create = newRequestId("create");
  const ret = newRequestId("return");
  assert.match(create, /^req-[a-z0-9]{10}$/);
  assert.match(ret, /^ret-[a-z0-9]{10}$/);
  assert.equal(requestKindOf(create), "create");
  assert.equal(requestKindOf(ret), "return");
  assert.notEqual(newRequestId("create"), newRequestId("create"));
});

test("malformed request ids have no kind", () => {
  for (const id of [
    "",
    "req-",
    "req-ABCDEFGHIJ",
    "foo-abcdefghij",
    "req-abcdefghijk",
    "req-abc/../x",
  ]) {
    assert.equal(requestKindOf(id), undefined, id);
  }
});

test("pod names round-trip through parsePodName and fit a DNS label", () => {
  const name = podName("hf", "req-5b2k9x7d1a", 12);
  assert.equal(name, "hf-req-5b2k9x7d1a-12");
  assert.deepEqual(parsePodName("hf", name), { requestId: "req-5b2k9x7d1a", index: 12 });
  const longest = podName("p".repeat(40), "req-5b2k9x7d1a", 99_999);
  assert.ok(longest.length <= 63, `${longest.length} chars`);
});

test("names another prefix made, or no prefix made, do not parse", () => {
  for (const name of [
    "other-req-5b2k9x7d1a-0",
    "hf-req-5b2k9x7d1a",
    "hf-req-5b2k9x7d1a-01",
    "hf-x",
  ]) {
    assert.equal(parsePodName("hf", name), undefined, name);
  }
});

test("a machine's FQDN maps back to its pod name", () => {
  assert.equal(
    podNameOfMachine("hf-req-5b2k9x7d1a-0.hosts.ns.svc.cluster.local"),
    "hf-req-5b2k9x7d1a-0",
  );
  assert.equal(podNameOfMachine("hf-req-5b2k9x7d1a-0"), "hf-req-5b2k9x7d1a-0");
});

test("pod name prefixes must be short DNS labels", () => {
  checkPodNamePrefix("hf");
  for (const bad of ["", "HF", "-hf", "hf-", "a_b", "p".repeat(41)]) {
    assert.throws(() => checkPodNamePrefix(bad), /pod name prefix/, bad);
  }
});
