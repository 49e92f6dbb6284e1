// The three patch formats, as pure functions, including the strategic merge directives kubectl
// sends.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
} from "../../sidecar/simulator/patch.ts";
import { StatusError } from "../../sidecar/simulator/status-error.ts";

describe("merge patch (RFC 7386)", () => {
  test("merges objects, deletes on null and replaces lists", () => {
    assert.deepEqual(
      applyMergePatch(
        { a: 1, b: { c: 2, d: 3 }, list: [1, 2] },
        { b: { c: null, e: 4 }, list: [3] },
      ),
      { a: 1, b: { d: 3, e: 4 }, list: [3] },
    );
  });

  test("leaves its input untouched", () => {
    const target = Object.freeze({ a: Object.freeze({ b: 1 }) });
    applyMergePatch(target, { a: { b: 2 } });
    assert.deepEqual(target, { a: { b: 1 } });
  });
});

describe("JSON patch (RFC 6902)", () => {
  test("add, replace, remove, move, copy and test", () => {
    const result = applyJsonPatch({ a: { b: 1 }, list: ["x", "y"] }, [
      { op: "test", path: "/a/b", value: 1 },
      { op: "add", path: "/list/1", value: "inserted" },
      { op: "add", path: "/list/-", value: "last" },
      { op: "replace", path: "/a/b", value: 2 },
      { op: "copy", from: "/a", path: "/c" },
      { op: "move", from: "/c/b", path: "/moved" },
      { op: "remove", path: "/list/0" },
      { op: "add", path: "/escaped~1key", value: true },
    ]);
    assert.deepEqual(result, {
      a: { b: 2 },
      list: ["inserted", "y", "last"],
      c: {},
      moved: 2,
      "escaped/key": true,
    });
  });

  for (const [name, patch] of [
    ["a failed test", [{ op: "test", path: "/a", value: 2 }]],
    ["removing a missing key", [{ op: "remove", path: "/missing" }]],
    ["replacing a missing key", [{ op: "replace", path: "/missing", value: 1 }]],
    ["an index out of range", [{ op: "add", path: "/list/5", value: 1 }]],
  ] as const) {
    test(`${name} answers 422`, () => {
      assert.throws(
        () => applyJsonPatch({ a: 1, list: [] }, patch),
        (error) => error instanceof StatusError && error.code === 422,
      );
    });
  }

  test("a body that is not a list of operations answers 400", () => {
    assert.throws(
      () => applyJsonPatch({}, { op: "add" }),
      (error) => error instanceof StatusError && error.code === 400,
    );
  });
});

describe("strategic merge patch", () => {
  const pod = {
    metadata: { finalizers: ["a"], labels: { x: "1" } },
    spec: {
      containers: [
        { name: "main", image: "i:1", env: [{ name: "A", value: "1" }] },
        { name: "side", image: "s:1" },
      ],
    },
    status: {
      conditions: [
        { type: "Ready", status: "False" },
        { type: "PodScheduled", status: "True" },
      ],
    },
  };

  // The orders below are what kube-apiserver v1.37.2 answers to the same patches: an item the
  // patch adds goes before the live items it was sent ahead of, a merged item stays in place.
  test("merges lists with a merge key by that key, in the API server's element order", () => {
    const result = applyStrategicMergePatch(pod, {
      spec: { containers: [{ name: "main", image: "i:2", env: [{ name: "B", value: "2" }] }] },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    }) as typeof pod;
    assert.deepEqual(result.spec.containers[0], {
      name: "main",
      image: "i:2",
      env: [
        { name: "B", value: "2" },
        { name: "A", value: "1" },
      ],
    });
    assert.equal(result.spec.containers.length, 2);
    assert.deepEqual(result.status.conditions, [
      { type: "Ready", status: "True" },
      { type: "PodScheduled", status: "True" },
    ]);
  });

  test("merges finalizers as a set and honours $deleteFromPrimitiveList", () => {
    const added = applyStrategicMergePatch(pod, {
      metadata: { finalizers: ["b", "a"] },
    }) as typeof pod;
    assert.deepEqual(added.metadata.finalizers, ["b", "a"]);
    const removed = applyStrategicMergePatch(added, {
      metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] },
    }) as typeof pod;
    assert.deepEqual(removed.metadata.finalizers, ["b"]);
    const appended = applyStrategicMergePatch(
      { metadata: { finalizers: ["c", "b", "a"] } },
      { metadata: { finalizers: ["a", "d"] } },
    ) as typeof pod;
    assert.deepEqual(appended.metadata.finalizers, ["c", "b", "a", "d"]);
  });

  test("a new item goes in front of the live list; merged items keep their place", () => {
    const result = applyStrategicMergePatch(
      { status: { conditions: [{ type: "Other" }, { type: "Custom", status: "True" }] } },
      { status: { conditions: [{ type: "New" }, { type: "Custom", status: "False" }] } },
    ) as typeof pod;
    assert.deepEqual(result.status.conditions, [
      { type: "New" },
      { type: "Other" },
      { type: "Custom", status: "False" },
    ]);
  });

  test("$patch: delete removes a list element; $patch: replace replaces a map", () => {
    const result = applyStrategicMergePatch(pod, {
      metadata: { labels: { $patch: "replace", y: "2" } },
      spec: { containers: [{ name: "side", $patch: "delete" }] },
    }) as typeof pod;
    assert.deepEqual(result.metadata.labels, { y: "2" });
    assert.deepEqual(
      result.spec.containers.map((container) => container.name),
      ["main"],
    );
  });

  test("$setElementOrder reorders a list the patch leaves alone; null deletes", () => {
    const result = applyStrategicMergePatch(pod, {
      metadata: { labels: { x: null } },
      spec: { "$setElementOrder/containers": [{ name: "side" }, { name: "main" }] },
    }) as typeof pod;
    assert.deepEqual(result.metadata.labels, {});
    assert.deepEqual(
      result.spec.containers.map((container) => container.name),
      ["side", "main"],
    );
  });

  test("a list element without its merge key answers 400", () => {
    assert.throws(
      () => applyStrategicMergePatch(pod, { spec: { containers: [{ image: "x" }] } }),
      (error) => error instanceof StatusError && error.code === 400,
    );
  });
});
