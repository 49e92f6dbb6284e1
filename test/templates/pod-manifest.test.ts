import assert from "node:assert/strict";
import { test } from "node:test";
import { LABEL_DRAIN_POLICY, podManifest } from "../../templates/pod-manifest.ts";
import { PREFIX, REQ, template } from "../sidecar/provider/fixtures.ts";

const machine = {
  instance: "grid",
  podNamePrefix: PREFIX,
  requestId: REQ,
  index: 0,
  rcAccount: "",
};

test("an immediate template's pod carries no drain label and no autoscaler annotations", () => {
  const pod = podManifest({ ...machine, template: template() });
  assert.equal(pod.metadata.labels[LABEL_DRAIN_POLICY], undefined);
  assert.deepEqual(pod.metadata.annotations, {});
});

test("a cooperative template's pod is selected by the drain label and kept from autoscalers", () => {
  const pod = podManifest({ ...machine, template: template({ drainPolicy: "cooperative" }) });
  assert.equal(pod.metadata.labels[LABEL_DRAIN_POLICY], "cooperative");
  assert.deepEqual(pod.metadata.annotations, {
    "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
    "karpenter.sh/do-not-disrupt": "true",
  });
});

test("a cooperative template's own annotations win, so an autoscaler can be let in", () => {
  const base = template({ drainPolicy: "cooperative" });
  const pod = podManifest({
    ...machine,
    template: {
      ...base,
      pod: {
        ...base.pod,
        annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" },
        labels: { [LABEL_DRAIN_POLICY]: "immediate" },
      },
    },
  });
  assert.equal(pod.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "true");
  assert.equal(pod.metadata.annotations["karpenter.sh/do-not-disrupt"], "true");
  assert.equal(
    pod.metadata.labels[LABEL_DRAIN_POLICY],
    "cooperative",
    "the label the PodDisruptionBudget selects by is the sidecar's",
  );
});
