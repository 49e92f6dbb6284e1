// A request's timeline, from its record, its pods and the Events about them, as a pure function.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { requestTimeline, type TimelineEvent } from "../../sidecar/admin/timeline.ts";
import type { CreateRecord, ReturnRecord } from "../../sidecar/provider/model.ts";
import type { RequestStatus } from "../../sidecar/provider/request-status.ts";

const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const create: CreateRecord = {
  kind: "create",
  requestId: "req-aaaaaaaaaa",
  templateId: "compute-small",
  machineCount: 2,
  rcAccount: "risk",
  createdAt: T0,
  settled: true,
  failures: {},
};
const running: RequestStatus = {
  requestId: create.requestId,
  kind: "create",
  templateId: "compute-small",
  status: "running",
  message: "1 of 2 machines done.",
  machines: [],
};

const podEvent = (
  name: string,
  reason: string,
  seconds: number,
  extra: Partial<TimelineEvent> = {},
) => ({
  involvedObject: { kind: "Pod", name },
  reason,
  message: `${reason} of ${name}`,
  type: "Normal",
  count: 1,
  firstTimestamp: at(seconds),
  lastTimestamp: at(seconds),
  ...extra,
});

const brief = (entries: ReturnType<typeof requestTimeline>) =>
  entries.map((e) => `${(e.timeMs - T0) / 1000} ${e.machine || "-"} ${e.what}`);

describe("requestTimeline", () => {
  test("a create request: asked, then each pod created, scheduled and ready, in order", () => {
    const entries = requestTimeline({
      record: create,
      status: running,
      pods: [
        {
          metadata: { name: "hf-0", creationTimestamp: at(1) },
          spec: { nodeName: "node-1" },
          status: {
            conditions: [
              { type: "PodScheduled", status: "True", lastTransitionTime: at(1) },
              { type: "Ready", status: "True", lastTransitionTime: at(3) },
            ],
          },
        },
        { metadata: { name: "hf-1", creationTimestamp: new Date(T0 + 1000) }, status: {} },
      ],
      events: [],
    });
    assert.deepEqual(brief(entries), [
      "0 - requested",
      "1 hf-0 pod created",
      "1 hf-1 pod created",
      "1 hf-0 scheduled",
      "3 hf-0 ready",
    ]);
    assert.equal(entries[0]?.detail, "2 machines of template compute-small for risk");
    assert.equal(entries[3]?.detail, "on node-1");
    assert.ok(entries.every((e) => !e.warning));
  });

  test("a Scheduled event replaces the pod's condition, and entries of one second follow a machine's life", () => {
    const entries = requestTimeline({
      record: create,
      status: running,
      pods: [
        {
          metadata: { name: "hf-0", creationTimestamp: at(1) },
          status: {
            conditions: [
              { type: "PodScheduled", status: "True", lastTransitionTime: at(1) },
              { type: "Ready", status: "True", lastTransitionTime: at(1) },
            ],
          },
        },
      ],
      events: [podEvent("hf-0", "Started", 1), podEvent("hf-0", "Scheduled", 1)],
    });
    assert.deepEqual(brief(entries), [
      "0 - requested",
      "1 hf-0 pod created",
      "1 hf-0 Scheduled",
      "1 hf-0 Started",
      "1 hf-0 ready",
    ]);
  });

  test("warnings, repeats, exits, deletion and completion", () => {
    const failed: RequestStatus = {
      ...running,
      status: "complete_with_error",
      message: "1 of 2 machines failed: the pod failed: Error",
    };
    const entries = requestTimeline({
      record: { ...create, completedAt: T0 + 9500 },
      status: failed,
      pods: [
        {
          metadata: {
            name: "hf-1",
            creationTimestamp: at(1),
            deletionTimestamp: at(38),
            deletionGracePeriodSeconds: 30,
          },
          status: {
            containerStatuses: [
              {
                name: "compute",
                state: { terminated: { exitCode: 1, reason: "Error", finishedAt: at(6) } },
              },
            ],
          },
        },
      ],
      events: [
        podEvent("hf-1", "FailedScheduling", 2, {
          type: "Warning",
          count: 3,
          lastTimestamp: at(4),
        }),
        {
          involvedObject: { kind: "ConfigMap", name: "hostfactory-req-aaaaaaaaaa" },
          reason: "RequestCompleteWithError",
          message: "1 of 2 machines failed",
          type: "Warning",
          eventTime: at(10),
        },
      ],
    });
    assert.deepEqual(brief(entries), [
      "0 - requested",
      "1 hf-1 pod created",
      "2 hf-1 FailedScheduling",
      "6 hf-1 container exited",
      "8 hf-1 deletion requested",
      "9.5 - complete with error",
      "10 - RequestCompleteWithError",
    ]);
    const byWhat = new Map(entries.map((e) => [e.what, e]));
    assert.equal(
      byWhat.get("FailedScheduling")?.detail,
      `FailedScheduling of hf-1 (3 times, last at ${at(4)})`,
    );
    assert.equal(byWhat.get("FailedScheduling")?.warning, true);
    assert.equal(byWhat.get("container exited")?.detail, "compute: Error (exit code 1)");
    assert.equal(byWhat.get("container exited")?.warning, true);
    assert.equal(byWhat.get("deletion requested")?.detail, "grace period 30s");
    assert.equal(byWhat.get("complete with error")?.detail, failed.message);
    assert.equal(byWhat.get("complete with error")?.warning, true);
    assert.equal(byWhat.get("RequestCompleteWithError")?.source, "event");
  });

  test("a return request names its machines, the first five, and tells only what followed it", () => {
    const record: ReturnRecord = {
      kind: "return",
      requestId: "ret-aaaaaaaaaa",
      machines: Array.from({ length: 7 }, (_, i) => ({ name: `hf-${i}`, machineId: "" })),
      createdAt: T0,
      failures: {},
      completedAt: T0 + 2000,
    };
    const entries = requestTimeline({
      record,
      status: { ...running, kind: "return", status: "complete", message: "" },
      pods: [],
      events: [podEvent("hf-0", "Scheduled", -60), podEvent("hf-0", "Killing", 1)],
    });
    assert.deepEqual(brief(entries), ["0 - return requested", "1 hf-0 Killing", "2 - complete"]);
    assert.equal(entries[0]?.detail, "7 machines: hf-0, hf-1, hf-2, hf-3, hf-4, and 2 more");
  });

  test("a record completed while its status still runs, and timestamps that are missing, add nothing", () => {
    const entries = requestTimeline({
      record: { ...create, completedAt: T0 + 5000 },
      status: running,
      pods: [{ metadata: { name: "hf-0" } }],
      events: [{ involvedObject: { kind: "Pod", name: "hf-0" }, reason: "Odd" }],
    });
    assert.deepEqual(brief(entries), ["0 - requested"]);
  });
});
