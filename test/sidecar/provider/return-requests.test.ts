import assert from "node:assert/strict";
import { test } from "node:test";
import type { PodView } from "../../../sidecar/provider/model.ts";
import { returnCandidates } from "../../../sidecar/provider/return-requests.ts";
import { PREFIX, pod, podsOf, REQ, T0 } from "./fixtures.ts";

const name = `${PREFIX}-${REQ}-0`;

function answer(
  current: PodView | undefined,
  options: { machineId?: string; returning?: boolean } = {},
) {
  return returnCandidates([{ name, machineId: options.machineId ?? "uid-0" }], {
    podNamePrefix: PREFIX,
    pod: podsOf(...(current ? [current] : [])),
    isReturning: () => options.returning ?? false,
    now: T0,
  });
}

test("machines the cluster took or is taking are reported with the time they have left", () => {
  const cases: [string, PodView | undefined, number | undefined, RegExp?][] = [
    ["healthy", pod(), undefined],
    ["pod gone", undefined, 0, /no longer exists/],
    ["pod failed", pod({ phase: "Failed", reason: "OOMKilled" }), 0, /stopped: OOMKilled/],
    ["pod exited", pod({ phase: "Succeeded" }), 0, /stopped/],
    ["being deleted", pod({ deletingAt: T0 + 29_500 }), 30, /being deleted/],
    ["deletion overdue", pod({ deletingAt: T0 - 5_000 }), 0, /being deleted/],
    [
      "evicted",
      pod({ disrupted: true, reason: "node is draining" }),
      0,
      /disrupted: node is draining/,
    ],
  ];
  for (const [label, current, grace, reason] of cases) {
    const [found] = answer(current);
    assert.equal(found?.gracePeriod, grace, label);
    if (reason) assert.match(found?.reason ?? "", reason, label);
  }
});

test("a pod replaced under the same name means the machine HostFactory holds is gone", () => {
  assert.equal(answer(pod({ uid: "other" }))[0]?.gracePeriod, 0);
});

test("machines already being returned, or not ours, are not reported", () => {
  assert.deepEqual(answer(undefined, { returning: true }), []);
  const foreign = returnCandidates([{ name: "someone-else-1", machineId: "" }], {
    podNamePrefix: PREFIX,
    pod: podsOf(),
    isReturning: () => false,
    now: T0,
  });
  assert.deepEqual(foreign, []);
});
