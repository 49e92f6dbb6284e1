import assert from "node:assert/strict";
import { describe, it } from "node:test";
// The deserialiser client-node's typed list calls use: the "typed" shape the cache lists.
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { projectPod } from "../../../sidecar/kube/pod-view.ts";
import {
  LABEL_DRAIN_POLICY,
  LABEL_INSTANCE,
  LABEL_MACHINE_INDEX,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
  type PodView,
} from "../../../sidecar/provider/model.ts";

const CREATED = "2025-03-04T10:15:30Z";
const DELETING = "2025-03-04T11:00:00Z";

/** A pod as the API server returns it: what HostFactory's requestMachines created, before status. */
function pod(overrides: { metadata?: object; spec?: object; status?: object } = {}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "hf-req-7f3a9c-0003",
      namespace: "symphony",
      uid: "0c1d7e52-8d1f-4a4e-9b7e-2f6a1c3d9e10",
      resourceVersion: "48213",
      creationTimestamp: CREATED,
      labels: {
        [LABEL_INSTANCE]: "prod",
        [LABEL_REQUEST_ID]: "req-7f3a9c",
        [LABEL_TEMPLATE_ID]: "compute-4cpu",
        [LABEL_MACHINE_INDEX]: "3",
      },
      ...overrides.metadata,
    },
    spec: {
      containers: [
        {
          name: "compute",
          image: "registry.example.com/symphony/compute:7.3.2",
          resources: { requests: { cpu: "4", memory: "16Gi" } },
        },
      ],
      restartPolicy: "Never",
      ...overrides.spec,
    },
    status: { phase: "Pending", qosClass: "Burstable", ...overrides.status },
  };
}

const scheduled = { type: "PodScheduled", status: "True", lastTransitionTime: CREATED };
const running = {
  phase: "Running",
  podIP: "10.244.3.17",
  hostIP: "192.168.10.23",
  startTime: CREATED,
  conditions: [
    { type: "Initialized", status: "True", lastTransitionTime: CREATED },
    { type: "Ready", status: "True", lastTransitionTime: CREATED },
    { type: "ContainersReady", status: "True", lastTransitionTime: CREATED },
    scheduled,
  ],
  containerStatuses: [
    {
      name: "compute",
      ready: true,
      restartCount: 0,
      image: "registry.example.com/symphony/compute:7.3.2",
      imageID: "",
      state: { running: { startedAt: CREATED } },
    },
  ],
};

const base: PodView = {
  name: "hf-req-7f3a9c-0003",
  uid: "0c1d7e52-8d1f-4a4e-9b7e-2f6a1c3d9e10",
  requestId: "req-7f3a9c",
  templateId: "compute-4cpu",
  phase: "Pending",
  ready: false,
  podIP: "",
  nodeName: "",
  createdAt: Date.parse(CREATED),
  reason: "",
  disrupted: false,
  gracePeriodSeconds: 30,
  cooperative: false,
};

const waiting = (reason: string, message?: string) => ({
  name: "compute",
  ready: false,
  restartCount: 0,
  image: "registry.example.com/symphony/compute:7.3.2",
  imageID: "",
  state: { waiting: { reason, message } },
});

const cases: { name: string; raw: object; expected: PodView }[] = [
  {
    name: "a pod the scheduler cannot place reports the scheduler's message",
    raw: pod({
      status: {
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: "0/3 nodes are available: 3 Insufficient cpu.",
            lastTransitionTime: CREATED,
          },
        ],
      },
    }),
    expected: { ...base, reason: "0/3 nodes are available: 3 Insufficient cpu." },
  },
  {
    name: "a pod whose image cannot be pulled reports the back-off",
    raw: pod({
      spec: { nodeName: "worker-2" },
      status: {
        conditions: [scheduled],
        containerStatuses: [
          waiting(
            "ImagePullBackOff",
            'Back-off pulling image "registry.example.com/symphony/compute:7.3.2"',
          ),
        ],
      },
    }),
    expected: {
      ...base,
      nodeName: "worker-2",
      reason:
        'ImagePullBackOff: Back-off pulling image "registry.example.com/symphony/compute:7.3.2"',
      waiting: [
        {
          container: "compute",
          init: false,
          reason: "ImagePullBackOff",
          message: 'Back-off pulling image "registry.example.com/symphony/compute:7.3.2"',
        },
      ],
    },
  },
  {
    name: "a pod whose containers are being created has nothing to report",
    raw: pod({
      spec: { nodeName: "worker-2" },
      status: { conditions: [scheduled], containerStatuses: [waiting("ContainerCreating")] },
    }),
    expected: { ...base, nodeName: "worker-2" },
  },
  {
    name: "a failing init container of a pending pod is reported with its exit code",
    raw: pod({
      spec: { nodeName: "worker-1" },
      status: {
        conditions: [scheduled],
        initContainerStatuses: [
          {
            name: "join-cluster",
            ready: false,
            restartCount: 0,
            image: "busybox",
            imageID: "",
            state: { terminated: { reason: "Error", exitCode: 2, startedAt: CREATED } },
          },
        ],
        containerStatuses: [waiting("PodInitializing")],
      },
    }),
    expected: {
      ...base,
      nodeName: "worker-1",
      reason: 'init container "join-cluster" terminated: Error (exit code 2)',
    },
  },
  {
    name: "waiting containers are listed init containers first, each with the kubelet's reason",
    raw: pod({
      spec: { nodeName: "worker-1" },
      status: {
        conditions: [scheduled],
        initContainerStatuses: [
          {
            ...waiting("CreateContainerConfigError", 'secret "ego-credentials" not found'),
            name: "join-cluster",
          },
        ],
        containerStatuses: [waiting("PodInitializing")],
      },
    }),
    expected: {
      ...base,
      nodeName: "worker-1",
      reason: 'CreateContainerConfigError: secret "ego-credentials" not found',
      waiting: [
        {
          container: "join-cluster",
          init: true,
          reason: "CreateContainerConfigError",
          message: 'secret "ego-credentials" not found',
        },
      ],
    },
  },
  {
    name: "a ready running pod has its IP, node and no reason",
    raw: pod({ spec: { nodeName: "worker-3" }, status: running }),
    expected: {
      ...base,
      phase: "Running",
      ready: true,
      podIP: "10.244.3.17",
      nodeName: "worker-3",
    },
  },
  {
    name: "a crash-looping container of a running pod is reported",
    raw: pod({
      spec: { nodeName: "worker-3" },
      status: {
        ...running,
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: CREATED }, scheduled],
        containerStatuses: [
          waiting(
            "CrashLoopBackOff",
            "back-off 40s restarting failed container=compute pod=hf-req-7f3a9c-0003_symphony(0c1d7e52)",
          ),
        ],
      },
    }),
    expected: {
      ...base,
      phase: "Running",
      podIP: "10.244.3.17",
      nodeName: "worker-3",
      reason:
        "CrashLoopBackOff: back-off 40s restarting failed container=compute pod=hf-req-7f3a9c-0003_symphony(0c1d7e52)",
      waiting: [
        {
          container: "compute",
          init: false,
          reason: "CrashLoopBackOff",
          message:
            "back-off 40s restarting failed container=compute pod=hf-req-7f3a9c-0003_symphony(0c1d7e52)",
        },
      ],
    },
  },
  {
    name: "an evicted pod reports the kubelet's eviction message and is disrupted",
    raw: pod({
      spec: { nodeName: "worker-1" },
      status: {
        phase: "Failed",
        reason: "Evicted",
        message:
          "The node was low on resource: memory. Threshold quantity: 100Mi, available: 48Mi. ",
        conditions: [
          {
            type: "DisruptionTarget",
            status: "True",
            reason: "TerminationByKubelet",
            message: "The node was low on resource: memory.",
            lastTransitionTime: CREATED,
          },
          scheduled,
        ],
      },
    }),
    expected: {
      ...base,
      phase: "Failed",
      nodeName: "worker-1",
      reason:
        "Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 48Mi.",
      disrupted: true,
    },
  },
  {
    name: "a failed container reports its termination reason and exit code",
    raw: pod({
      spec: { nodeName: "worker-3" },
      status: {
        ...running,
        phase: "Failed",
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: CREATED }, scheduled],
        containerStatuses: [
          {
            name: "compute",
            ready: false,
            restartCount: 0,
            image: "registry.example.com/symphony/compute:7.3.2",
            imageID: "",
            state: {
              terminated: { reason: "OOMKilled", exitCode: 137, startedAt: CREATED },
            },
          },
        ],
      },
    }),
    expected: {
      ...base,
      phase: "Failed",
      podIP: "10.244.3.17",
      nodeName: "worker-3",
      reason: 'container "compute" terminated: OOMKilled (exit code 137)',
    },
  },
  {
    name: "a pod being evicted through the API is disrupted and being deleted",
    raw: pod({
      metadata: { deletionTimestamp: DELETING, deletionGracePeriodSeconds: 30 },
      spec: { nodeName: "worker-3" },
      status: {
        ...running,
        conditions: [
          ...running.conditions,
          {
            type: "DisruptionTarget",
            status: "True",
            reason: "EvictionByEvictionAPI",
            message: "Eviction API: evicting",
            lastTransitionTime: DELETING,
          },
        ],
      },
    }),
    expected: {
      ...base,
      phase: "Running",
      ready: true,
      podIP: "10.244.3.17",
      nodeName: "worker-3",
      deletingAt: Date.parse(DELETING),
      reason: "EvictionByEvictionAPI: Eviction API: evicting",
      disrupted: true,
    },
  },
  {
    name: "a pod preempted by the scheduler keeps the scheduler's words",
    raw: pod({
      metadata: { deletionTimestamp: DELETING, deletionGracePeriodSeconds: 30 },
      spec: { nodeName: "worker-3" },
      status: {
        ...running,
        conditions: [
          ...running.conditions,
          {
            type: "DisruptionTarget",
            status: "True",
            reason: "PreemptionByScheduler",
            message: "default-scheduler: preempting to accommodate a higher priority pod",
            lastTransitionTime: DELETING,
          },
        ],
      },
    }),
    expected: {
      ...base,
      phase: "Running",
      ready: true,
      podIP: "10.244.3.17",
      nodeName: "worker-3",
      deletingAt: Date.parse(DELETING),
      reason:
        "PreemptionByScheduler: default-scheduler: preempting to accommodate a higher priority pod",
      disrupted: true,
      preempted: "default-scheduler: preempting to accommodate a higher priority pod",
    },
  },
  {
    name: "a pod on a lost node reports why its phase is unknown",
    raw: pod({
      spec: { nodeName: "worker-4" },
      status: {
        phase: "Unknown",
        reason: "NodeLost",
        message: "Node worker-4 which was running pod hf-req-7f3a9c-0003 is unresponsive",
      },
    }),
    expected: {
      ...base,
      phase: "Unknown",
      nodeName: "worker-4",
      reason: "NodeLost: Node worker-4 which was running pod hf-req-7f3a9c-0003 is unresponsive",
    },
  },
  {
    name: "a completed pod has nothing to report",
    raw: pod({ spec: { nodeName: "worker-3" }, status: { phase: "Succeeded" } }),
    expected: { ...base, phase: "Succeeded", nodeName: "worker-3" },
  },
  {
    name: "a pod without the sidecar's labels has empty request and template ids",
    raw: pod({ metadata: { labels: { app: "other" } } }),
    expected: { ...base, requestId: "", templateId: "" },
  },
  {
    name: "a cooperative template's pod is marked cooperative by its drain-policy label",
    raw: pod({
      metadata: {
        labels: {
          [LABEL_REQUEST_ID]: "req-7f3a9c",
          [LABEL_TEMPLATE_ID]: "compute-4cpu",
          [LABEL_DRAIN_POLICY]: "cooperative",
        },
      },
    }),
    expected: { ...base, cooperative: true },
  },
];

describe("projectPod", () => {
  for (const c of cases) {
    it(`${c.name} (watch JSON, string timestamps)`, () => {
      assert.deepEqual(projectPod(c.raw), c.expected);
    });
    it(`${c.name} (typed list object, Date timestamps)`, () => {
      const typed = ObjectSerializer.deserialize(structuredClone(c.raw), "V1Pod", "");
      assert.ok(typed.metadata.creationTimestamp instanceof Date);
      assert.deepEqual(projectPod(typed), c.expected);
    });
  }

  it("skips an object without a name", () => {
    assert.equal(projectPod({ metadata: {} }), undefined);
    assert.equal(projectPod(undefined), undefined);
  });

  it("maps a phase it does not know to Unknown", () => {
    assert.equal(projectPod(pod({ status: { phase: "Exploded" } }))?.phase, "Unknown");
  });
});
