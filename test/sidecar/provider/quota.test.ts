// How many more pods of a template a namespace's ResourceQuotas admit: the pod's usage as the
// API server's quota evaluator computes it, the quotas its scopes put it under, and the room left.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  podQuotaProfile,
  type QuotaScope,
  type QuotaView,
  quotaHeadroom,
  quotaSelects,
} from "../../../sidecar/provider/quota.ts";
import { parseQuantityNanos } from "../../../templates/quantity.ts";

const q = (text: string) => parseQuantityNanos(text) as bigint;
const list = (entries: Record<string, string>) =>
  new Map(Object.entries(entries).map(([name, text]) => [name, q(text)]));

function quota(
  name: string,
  hard: Record<string, string>,
  used: Record<string, string> = {},
  scopes: QuotaScope[] = [],
): QuotaView {
  const counted = Object.fromEntries(Object.keys(hard).map((r) => [r, used[r] ?? "0"]));
  return { name, spec: list(hard), hard: list(hard), used: list(counted), scopes };
}

const scope = (scopeName: string, operator = "Exists", values: string[] = []): QuotaScope => ({
  scopeName,
  operator,
  values,
});

function container(requests?: Record<string, string>, limits?: Record<string, string>) {
  return { name: "c", image: "i", resources: { requests, limits } };
}

/** The usage of one pod, as readable quantities in nano-units. */
function usage(spec: Record<string, unknown>): Record<string, bigint> {
  return Object.fromEntries(podQuotaProfile(spec).usage);
}

describe("a pod's usage, as the quota evaluator counts it", () => {
  test("containers are summed; requests default to limits; limits.* only where every amount is", () => {
    const spec = {
      containers: [container({ cpu: "100m", memory: "1Gi" }), container(undefined, { cpu: "1" })],
    };
    assert.deepEqual(usage(spec), {
      "count/pods": q("1"),
      pods: q("1"),
      cpu: q("1100m"),
      "requests.cpu": q("1100m"),
      "limits.cpu": q("1"),
      memory: q("1Gi"),
      "requests.memory": q("1Gi"),
    });
  });

  test("an init container counts when it asks more than the containers, on top of the sidecars started before it", () => {
    const spec = {
      containers: [container({ cpu: "500m", memory: "1Gi" })],
      initContainers: [
        { ...container({ cpu: "100m" }), restartPolicy: "Always" },
        container({ cpu: "2", memory: "512Mi" }),
        container({ memory: "4Gi" }),
      ],
    };
    const result = usage(spec);
    // cpu: max(500m + 100m sidecar, 2 + 100m) = 2100m; memory: max(1Gi, 4Gi) = 4Gi.
    assert.equal(result["requests.cpu"], q("2100m"));
    assert.equal(result["requests.memory"], q("4Gi"));
  });

  test("overhead is added to requests, and to limits that are set", () => {
    const spec = {
      containers: [container({ cpu: "1", memory: "1Gi" }, { cpu: "1" })],
      overhead: { cpu: "250m", memory: "120Mi" },
    };
    const result = usage(spec);
    assert.equal(result["requests.cpu"], q("1250m"));
    assert.equal(result["limits.cpu"], q("1250m"));
    assert.equal(result["requests.memory"], q("1Gi") + q("120Mi"));
    assert.equal(result["limits.memory"], undefined);
  });

  test("pod-level resources replace the containers' cpu and memory", () => {
    const spec = {
      containers: [container({ cpu: "100m", memory: "1Gi" })],
      resources: { requests: { cpu: "2" }, limits: { memory: "8Gi" } },
    };
    const result = usage(spec);
    assert.equal(result["requests.cpu"], q("2"));
    assert.equal(result["requests.memory"], q("1Gi"), "containers' requests stand");
    assert.equal(result["limits.memory"], q("8Gi"));
  });

  test("extended resources count as requests.<name>, hugepages under both names, zero amounts not at all", () => {
    const spec = {
      containers: [
        container(
          { "nvidia.com/gpu": "1", "hugepages-2Mi": "4Mi", cpu: "0" },
          { "nvidia.com/gpu": "1" },
        ),
      ],
    };
    const result = usage(spec);
    assert.equal(result["requests.nvidia.com/gpu"], q("1"));
    assert.equal(result["nvidia.com/gpu"], undefined);
    assert.equal(result["hugepages-2Mi"], q("4Mi"));
    assert.equal(result["requests.hugepages-2Mi"], q("4Mi"));
    assert.equal(result["requests.cpu"], undefined);
  });

  test("quantities are exact in every unit", () => {
    const result = usage({
      containers: [
        container({ cpu: "0.1", memory: "1.5Gi" }),
        container({ cpu: "1e-1", memory: "1G" }),
      ],
    });
    assert.equal(result["requests.cpu"], q("200m"));
    assert.equal(result["requests.memory"], 1_610_612_736n * 10n ** 9n + 10n ** 18n);
  });
});

describe("scopes", () => {
  const burstable = { containers: [container({ cpu: "100m" })] };
  const bestEffort = { containers: [container()] };
  const cases: [string, Record<string, unknown>, QuotaScope[], boolean][] = [
    ["no scopes select every pod", burstable, [], true],
    [
      "Terminating: a pod with activeDeadlineSeconds",
      { ...burstable, activeDeadlineSeconds: 60 },
      [scope("Terminating")],
      true,
    ],
    ["Terminating: not a pod without", burstable, [scope("Terminating")], false],
    ["NotTerminating", burstable, [scope("NotTerminating")], true],
    ["BestEffort: no cpu or memory anywhere", bestEffort, [scope("BestEffort")], true],
    [
      "BestEffort: a GPU alone leaves a pod BestEffort",
      { containers: [container({ "nvidia.com/gpu": "1" })] },
      [scope("BestEffort")],
      true,
    ],
    ["BestEffort: not a pod asking cpu", burstable, [scope("BestEffort")], false],
    ["NotBestEffort", burstable, [scope("NotBestEffort")], true],
    [
      "NotBestEffort: an init container's memory counts",
      { containers: [container()], initContainers: [container({ memory: "1Gi" })] },
      [scope("NotBestEffort")],
      true,
    ],
    [
      "PriorityClass In",
      { ...burstable, priorityClassName: "low" },
      [scope("PriorityClass", "In", ["low", "lower"])],
      true,
    ],
    [
      "PriorityClass In: another class",
      { ...burstable, priorityClassName: "high" },
      [scope("PriorityClass", "In", ["low"])],
      false,
    ],
    ["PriorityClass In: no class", burstable, [scope("PriorityClass", "In", ["low"])], false],
    ["PriorityClass NotIn: no class", burstable, [scope("PriorityClass", "NotIn", ["low"])], true],
    [
      "PriorityClass NotIn: that class",
      { ...burstable, priorityClassName: "low" },
      [scope("PriorityClass", "NotIn", ["low"])],
      false,
    ],
    [
      "PriorityClass Exists",
      { ...burstable, priorityClassName: "low" },
      [scope("PriorityClass")],
      true,
    ],
    ["PriorityClass Exists: no class", burstable, [scope("PriorityClass")], false],
    ["PriorityClass DoesNotExist", burstable, [scope("PriorityClass", "DoesNotExist")], true],
    [
      "CrossNamespacePodAffinity",
      {
        ...burstable,
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 1, podAffinityTerm: { namespaceSelector: {}, topologyKey: "zone" } },
            ],
          },
        },
      },
      [scope("CrossNamespacePodAffinity")],
      true,
    ],
    ["CrossNamespacePodAffinity: none", burstable, [scope("CrossNamespacePodAffinity")], false],
    [
      "every scope must select",
      { ...burstable, activeDeadlineSeconds: 60 },
      [scope("Terminating"), scope("BestEffort")],
      false,
    ],
    [
      "a scope of another kind of object selects no pod",
      burstable,
      [scope("VolumeAttributesClass", "In", ["x"])],
      false,
    ],
  ];
  for (const [name, spec, scopes, selected] of cases) {
    test(name, () => {
      assert.equal(
        quotaSelects(quota("q", { pods: "1" }, {}, scopes), podQuotaProfile(spec)),
        selected,
      );
    });
  }
});

describe("headroom", () => {
  const small = podQuotaProfile({ containers: [container({ cpu: "100m", memory: "256Mi" })] });
  const gpu = podQuotaProfile({
    containers: [container({ cpu: "1", "nvidia.com/gpu": "1" }, { "nvidia.com/gpu": "1" })],
  });

  test("a quota of 200m cpu admits two pods of 100m", () => {
    const limit = quotaHeadroom(small, [quota("compute-quota", { "requests.cpu": "200m" })]);
    assert.equal(limit?.machines, 2);
    assert.equal(limit?.quota, "compute-quota");
    assert.equal(limit?.resource, "requests.cpu");
    assert.equal(limit?.detail, "requests.cpu: 200m hard, 0 used, 100m a machine");
  });

  test("the tightest resource of the tightest quota wins; used amounts count", () => {
    const limit = quotaHeadroom(small, [
      quota("a-loose", { pods: "100", "requests.cpu": "10" }),
      quota(
        "b-memory",
        { "requests.memory": "1Gi", cpu: "1" },
        { "requests.memory": "300Mi", cpu: "0" },
      ),
    ]);
    // (1024 - 300) / 256 = 2.8: two more.
    assert.equal(limit?.machines, 2);
    assert.equal(limit?.quota, "b-memory");
    assert.equal(limit?.detail, "requests.memory: 1Gi hard, 300Mi used, 256Mi a machine");
  });

  test("exact arithmetic: 300m less 100m used leaves room for two 100m pods", () => {
    const limit = quotaHeadroom(small, [
      quota("q", { "requests.cpu": "300m" }, { "requests.cpu": "100m" }),
    ]);
    assert.equal(limit?.machines, 2);
  });

  test("machines accepted but not created yet take their share, if the quota counts them", () => {
    const quotas = [quota("q", { "requests.cpu": "2" }, { "requests.cpu": "500m" })];
    const pending = [
      { profile: small, count: 3 },
      { profile: gpu, count: 1 },
    ];
    // 2 - 0.5 - 0.3 - 1 = 200m: two more small ones.
    const limit = quotaHeadroom(small, quotas, pending);
    assert.equal(limit?.machines, 2);
    assert.match(limit?.detail ?? "", /1300m for machines not created yet/);
    const scoped = [
      quota("q", { "requests.cpu": "2" }, { "requests.cpu": "500m" }, [scope("Terminating")]),
    ];
    const terminating = podQuotaProfile({
      activeDeadlineSeconds: 10,
      containers: [container({ cpu: "100m" })],
    });
    assert.equal(
      quotaHeadroom(terminating, scoped, pending)?.machines,
      15,
      "the others are not in its scope",
    );
  });

  test("extended resources: a GPU quota limits only the templates that ask for GPUs", () => {
    const quotas = [
      quota("gpus", { "requests.nvidia.com/gpu": "4" }, { "requests.nvidia.com/gpu": "1" }),
    ];
    assert.equal(quotaHeadroom(gpu, quotas)?.machines, 3);
    assert.equal(quotaHeadroom(small, quotas), undefined);
  });

  test("a quota whose scope does not select the pod does not limit it", () => {
    const quotas = [quota("best-effort", { pods: "0" }, {}, [scope("BestEffort")])];
    assert.equal(quotaHeadroom(small, quotas), undefined);
  });

  test("limits.* and pods count too; a quota over its limit admits none", () => {
    const limited = podQuotaProfile({ containers: [container({ cpu: "1" }, { cpu: "2" })] });
    assert.equal(quotaHeadroom(limited, [quota("l", { "limits.cpu": "5" })])?.machines, 2);
    assert.equal(quotaHeadroom(limited, [quota("p", { pods: "10" }, { pods: "12" })])?.machines, 0);
  });

  test("a quota the controller has not counted yet admits none", () => {
    const fresh: QuotaView = {
      ...quota("new", { "requests.cpu": "4" }),
      hard: new Map(),
      used: new Map(),
    };
    const limit = quotaHeadroom(small, [fresh]);
    assert.equal(limit?.machines, 0);
    assert.match(limit?.detail ?? "", /not counted yet/);
  });

  test("a resource the pod does not state is not limited (a LimitRange may fill it in)", () => {
    assert.equal(quotaHeadroom(small, [quota("l", { "limits.memory": "1Gi" })]), undefined);
  });
});
