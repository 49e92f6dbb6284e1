import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ConfigMapLike,
  finalPatch,
  parseRecord,
  recordConfigMap,
  recordPatch,
} from "../../../sidecar/provider/records.ts";

const created = "2026-11-24T10:00:00Z";

function stored(
  configMap: ReturnType<typeof recordConfigMap>,
  patches: { data: Record<string, string> }[] = [],
) {
  const data = Object.assign({}, configMap.data, ...patches.map((p) => p.data));
  return { metadata: { ...configMap.metadata, creationTimestamp: created }, data };
}

test("a create record round-trips through its ConfigMap, findings included", () => {
  const configMap = recordConfigMap("inst", {
    kind: "create",
    requestId: "req-abcdefghij",
    templateId: "small",
    machineCount: 3,
    rcAccount: "risk",
  });
  assert.equal(configMap.metadata.name, "hostfactory-req-abcdefghij");
  assert.deepEqual(configMap.metadata.labels, {
    "hostfactory-k8s/instance": "inst",
    "hostfactory-k8s/request-id": "req-abcdefghij",
    "hostfactory-k8s/record": "create",
    "hostfactory-k8s/template-id": "small",
  });
  assert.deepEqual(parseRecord(stored(configMap)), {
    kind: "create",
    requestId: "req-abcdefghij",
    templateId: "small",
    machineCount: 3,
    rcAccount: "risk",
    createdAt: Date.parse(created),
    settled: false,
    failures: {},
    unasked: true,
  });
  const patch = recordPatch({
    failures: new Map([[2, "quota exceeded"]]),
    settled: true,
    completedAt: Date.parse("2026-11-24T10:05:00Z"),
    askedAt: Date.parse("2026-11-24T10:00:05Z"),
  });
  const record = parseRecord(stored(configMap, [patch]));
  assert.equal(record?.kind, "create");
  assert.equal(record?.kind === "create" && record.unasked, undefined, "asked once, for good");
  assert.deepEqual(record?.failures, { 2: "quota exceeded" });
  assert.equal(record?.kind === "create" && record.settled, true);
  assert.equal(record?.completedAt, Date.parse("2026-11-24T10:05:00Z"));
});

test("a return record keeps the machines as HostFactory named them", () => {
  const machines = [{ name: "hf-req-abcdefghij-0.svc.ns", machineId: "u0" }];
  const configMap = recordConfigMap("inst", {
    kind: "return",
    requestId: "ret-abcdefghij",
    machines,
  });
  assert.equal(configMap.metadata.labels["hostfactory-k8s/template-id"], undefined);
  const record = parseRecord(stored(configMap));
  assert.equal(record?.kind, "return");
  assert.equal(configMap.data.askedAt, undefined, "a return is never abandoned");
  assert.deepEqual(record?.kind === "return" && record.machines, machines);
});

test("failure reasons are shortened and each distinct one stored once, so thousands fit", () => {
  const failures = new Map<number, string>();
  for (let i = 0; i < 10_000; i++) failures.set(i, i % 2 ? "x".repeat(10_000) : "quota exceeded");
  const patch = recordPatch({ failures });
  const reasons = Object.keys(patch.data).filter((k) => k.startsWith("reason."));
  assert.equal(reasons.length, 2);
  const bytes = Buffer.byteLength(JSON.stringify(patch));
  assert.ok(bytes < 400_000, `${bytes} bytes for 10,000 failed machines`);
  const configMap = recordConfigMap("inst", {
    kind: "create",
    requestId: "req-abcdefghij",
    templateId: "small",
    machineCount: 10_000,
    rcAccount: "",
  });
  const record = parseRecord(stored(configMap, [patch]));
  assert.equal(record?.failures[0], "quota exceeded");
  assert.equal(record?.failures[1]?.length, 300);
  assert.ok(record?.failures[1]?.endsWith("…"));
});

test("ConfigMaps that are not well-formed records are ignored", () => {
  const labels = {
    "hostfactory-k8s/request-id": "req-abcdefghij",
    "hostfactory-k8s/record": "create",
  };
  const cases: ConfigMapLike[] = [
    {},
    { metadata: { labels, creationTimestamp: created }, data: {} },
    { metadata: { labels, creationTimestamp: created }, data: { request: "{not json" } },
    { metadata: { labels, creationTimestamp: created }, data: { request: '{"templateId": 3}' } },
    {
      metadata: { labels, creationTimestamp: created },
      data: { request: '{"templateId": "t", "machineCount": 1000000000}' },
    },
    {
      metadata: {
        labels: { ...labels, "hostfactory-k8s/record": "other" },
        creationTimestamp: created,
      },
      data: { request: "{}" },
    },
  ];
  for (const configMap of cases)
    assert.equal(parseRecord(configMap), undefined, JSON.stringify(configMap));
});

test("a final answer round-trips, settles a create record, and a malformed one is ignored", () => {
  const configMap = recordConfigMap("inst", {
    kind: "create",
    requestId: "req-abcdefghij",
    templateId: "small",
    machineCount: 2,
    rcAccount: "",
  });
  const final = {
    status: "complete_with_error" as const,
    at: Date.parse(created),
    failed: [1],
    machineIds: ["u0", ""],
  };
  const patch = finalPatch("create", final, "42");
  assert.equal(patch.metadata.resourceVersion, "42", "a write on that version only");
  const record = parseRecord(stored(configMap, [patch]));
  assert.deepEqual(record?.final, final);
  assert.equal(record?.kind === "create" && record.settled, true);
  for (const bad of [
    "not json",
    JSON.stringify({ ...final, failed: [2] }),
    JSON.stringify({ ...final, status: "complete" }),
    JSON.stringify({ ...final, status: "running", failed: [] }),
  ]) {
    const parsed = parseRecord(stored(configMap, [{ data: { final: bad } }]));
    assert.equal(parsed?.final, undefined, bad);
  }
});
