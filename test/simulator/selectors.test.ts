// Label and field selector parsing and matching, as tables of cases.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseFieldSelector } from "../../sidecar/simulator/field-selector.ts";
import { parseLabelSelector } from "../../sidecar/simulator/label-selector.ts";
import { PODS } from "../../sidecar/simulator/resources.ts";
import { StatusError } from "../../sidecar/simulator/status-error.ts";

const labels = { app: "web", tier: "gold", version: "12" };

describe("label selectors", () => {
  for (const [selector, expected] of [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app=db", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app in (web, db)", true],
    ["app in (db)", false],
    ["app notin (db)", true],
    ["missing notin (db)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["app=web,tier=gold", true],
    ["app=web,tier=silver", false],
    ["version>10", true],
    ["version<10", false],
    ["  app = web ,  tier in (gold)  ", true],
  ] as const) {
    test(`"${selector}" ${expected ? "matches" : "does not match"}`, () => {
      assert.equal(parseLabelSelector(selector).matches(labels), expected);
    });
  }

  for (const selector of [
    "app in (web",
    "app in ()",
    "=web",
    "app=web,",
    "app notin web",
    "a b",
    "app=web tier=gold",
    "app>x",
  ]) {
    test(`"${selector}" is rejected with 400`, () => {
      assert.throws(
        () => parseLabelSelector(selector),
        (error) =>
          error instanceof StatusError &&
          error.code === 400 &&
          /unable to parse requirement/.test(error.message),
      );
    });
  }
});

describe("field selectors", () => {
  const pod = {
    metadata: { name: "p", namespace: "ns" },
    spec: { nodeName: "node-1", containers: [] },
    status: { phase: "Running" },
  };

  for (const [selector, expected] of [
    ["metadata.name=p", true],
    ["metadata.name==p", true],
    ["metadata.name!=p", false],
    ["spec.nodeName=node-1,status.phase=Running", true],
    ["status.phase!=Failed,status.phase!=Succeeded", true],
    ["spec.nodeName=", false],
  ] as const) {
    test(`"${selector}" ${expected ? "matches" : "does not match"}`, () => {
      assert.equal(parseFieldSelector(selector, PODS.fieldGetters).matches(pod), expected);
    });
  }

  test("an unsupported field is rejected with 400 naming it", () => {
    assert.throws(
      () => parseFieldSelector("spec.schedulerName=x,spec.unknown=y", PODS.fieldGetters),
      (error) =>
        error instanceof StatusError &&
        error.code === 400 &&
        error.message === "field label not supported: spec.unknown",
    );
  });

  test("a term without an operator is rejected with 400", () => {
    assert.throws(
      () => parseFieldSelector("metadata.name", PODS.fieldGetters),
      (error) => error instanceof StatusError && error.code === 400,
    );
  });
});
