import assert from "node:assert/strict";
import { test } from "node:test";
import { projectNode } from "../../../sidecar/kube/node-view.ts";

const node = (conditions: object[], taints: object[] = []) => ({
  metadata: { name: "n1" },
  spec: { taints },
  status: { conditions },
});
const ready = { type: "Ready", status: "True" };

test("a node's readiness and the taints that announce its removal are projected", () => {
  const cases: [unknown, boolean, RegExp][] = [
    [node([ready]), true, /^$/],
    [node([{ type: "Ready", status: "Unknown" }]), false, /^$/],
    [
      node([ready], [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }]),
      true,
      /^$/,
    ],
    [
      node([ready], [{ key: "ToBeDeletedByClusterAutoscaler", effect: "NoSchedule" }]),
      true,
      /cluster autoscaler/,
    ],
    [node([ready], [{ key: "karpenter.sh/disrupted", effect: "NoSchedule" }]), true, /Karpenter/],
    [
      node([ready], [{ key: "node.kubernetes.io/out-of-service", effect: "NoExecute" }]),
      true,
      /out of service/,
    ],
  ];
  for (const [raw, isReady, leaving] of cases) {
    const view = projectNode(raw);
    assert.equal(view?.ready, isReady, JSON.stringify(raw));
    assert.match(view?.leaving ?? "?", leaving, JSON.stringify(raw));
  }
  assert.equal(projectNode({ metadata: {} }), undefined);
});

test("a cordoned node is projected so, from spec.unschedulable or the taint that mirrors it", () => {
  const cordoned = (spec: object) =>
    projectNode({ metadata: { name: "n1" }, spec, status: { conditions: [ready] } })?.cordoned;
  assert.equal(cordoned({ unschedulable: true }), true);
  assert.equal(
    cordoned({ taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
    true,
  );
  assert.equal(cordoned({ unschedulable: false }), false);
  assert.equal(cordoned({}), false);
});
