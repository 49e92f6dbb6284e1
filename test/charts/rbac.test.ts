// The chart's Role (and, for the node cache, ClusterRole) grants exactly the Kubernetes calls the
// sidecar makes. CALLS is the list of those calls, each with its call site; the tests check that
// every call site exists, that the sidecar's sources make no API call missing from CALLS, and that
// what the chart grants matches what the sidecar it configures will call.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import * as kube from "@kubernetes/client-node";
import { disruptionBudgetName } from "../../sidecar/kube/disruption-budget.ts";
import { helmUnavailable, ROOT } from "./_helm.ts";
import {
  envOf,
  FULLNAME,
  NAMESPACE,
  type PolicyRule,
  type Rendered,
  type RenderOptions,
  type Role,
  render,
  VALUE_SETS,
} from "./_render.ts";

/** The sidecar options that make it call more; the chart sets them as environment variables. */
const OPTION_ENV = {
  leaderElect: "HOSTFACTORY_LEADER_ELECT",
  watchNodes: "HOSTFACTORY_WATCH_NODES",
  watchQuotas: "HOSTFACTORY_WATCH_QUOTAS",
} as const;

interface Call {
  group:
    | ""
    | "coordination.k8s.io"
    | "authorization.k8s.io"
    | "scheduling.k8s.io"
    | "node.k8s.io"
    | "policy";
  resource: string;
  verb: string;
  /** Where the sidecar makes the call, and the text of the call there. */
  file: string;
  call: string;
  /** Only when this option is on. */
  when?: keyof typeof OPTION_ENV;
  /** A cluster-scoped resource: granted by the ClusterRole, not the Role. */
  cluster?: true;
  /** Kubernetes grants it to every authenticated user (the system:basic-user ClusterRole), so
   * the chart grants nothing for it. */
  everyone?: true;
}

const CALLS: Call[] = [
  // Events on request records: completion and failed machines.
  {
    group: "",
    resource: "events",
    verb: "create",
    file: "sidecar/kube/event-sink.ts",
    call: "api.createNamespacedEvent(",
  },
  // The admin service (`hostfactory request`, `templates render --dry-run`, `doctor`).
  {
    group: "",
    resource: "pods",
    verb: "list",
    file: "sidecar/kube/cluster-reads.ts",
    call: "core.listNamespacedPod(",
  },
  {
    group: "",
    resource: "pods",
    verb: "create",
    file: "sidecar/kube/cluster-reads.ts",
    call: "core.createNamespacedPod(",
  },
  {
    group: "",
    resource: "events",
    verb: "list",
    file: "sidecar/kube/cluster-reads.ts",
    call: "core.listNamespacedEvent(",
  },
  {
    group: "authorization.k8s.io",
    resource: "selfsubjectaccessreviews",
    verb: "create",
    file: "sidecar/kube/cluster-reads.ts",
    call: "authorization.createSelfSubjectAccessReview(",
    everyone: true,
  },
  // What templates name, read by name: requestMachines (PriorityClass) and `doctor`.
  {
    group: "scheduling.k8s.io",
    resource: "priorityclasses",
    verb: "get",
    file: "sidecar/kube/reference-lookup.ts",
    call: "scheduling.readPriorityClass(",
    cluster: true,
  },
  {
    group: "node.k8s.io",
    resource: "runtimeclasses",
    verb: "get",
    file: "sidecar/kube/reference-lookup.ts",
    call: "node.readRuntimeClass(",
    cluster: true,
  },
  {
    group: "",
    resource: "serviceaccounts",
    verb: "get",
    file: "sidecar/kube/reference-lookup.ts",
    call: "core.readNamespacedServiceAccount(",
  },
  // Pods: the machines.
  {
    group: "",
    resource: "pods",
    verb: "list",
    file: "sidecar/kube/list-watch-sources.ts",
    call: "core.listNamespacedPod(",
  },
  {
    group: "",
    resource: "pods",
    verb: "list",
    file: "sidecar/kube/foreign-pods.ts",
    call: "api.listNamespacedPod(",
  },
  {
    group: "",
    resource: "pods",
    verb: "watch",
    file: "sidecar/kube/list-watch-sources.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    call: "watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`",
  },
  {
    group: "",
    resource: "pods",
    verb: "create",
    file: "sidecar/kube/pod-writer.ts",
    call: "api.createNamespacedPod(",
  },
  // The scheduler's Preempted Event on a preempted host names the pod it made room for.
  {
    group: "",
    resource: "events",
    verb: "list",
    file: "sidecar/kube/pod-writer.ts",
    call: "api.listNamespacedEvent(",
  },
  {
    group: "",
    resource: "pods",
    verb: "delete",
    file: "sidecar/kube/pod-writer.ts",
    call: "api.deleteNamespacedPod(",
  },
  // ConfigMaps: the request records.
  {
    group: "",
    resource: "configmaps",
    verb: "list",
    file: "sidecar/kube/list-watch-sources.ts",
    call: "core.listNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "watch",
    file: "sidecar/kube/list-watch-sources.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    call: "watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "create",
    file: "sidecar/kube/record-store.ts",
    call: "api.createNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "get",
    file: "sidecar/kube/record-store.ts",
    call: "api.readNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "patch",
    file: "sidecar/kube/record-store.ts",
    call: "api.patchNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "delete",
    file: "sidecar/kube/record-store.ts",
    call: "api.deleteNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "create",
    file: "sidecar/kube/reservation-ledger.ts",
    call: "api.createNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "get",
    file: "sidecar/kube/reservation-ledger.ts",
    call: "api.readNamespacedConfigMap(",
  },
  {
    group: "",
    resource: "configmaps",
    verb: "patch",
    file: "sidecar/kube/reservation-ledger.ts",
    call: "api.patchNamespacedConfigMap(",
  },
  // Leases: leader election.
  {
    group: "coordination.k8s.io",
    resource: "leases",
    verb: "get",
    file: "sidecar/kube/lease-client.ts",
    call: "api.readNamespacedLease(",
    when: "leaderElect",
  },
  {
    group: "coordination.k8s.io",
    resource: "leases",
    verb: "create",
    file: "sidecar/kube/lease-client.ts",
    call: "api.createNamespacedLease(",
    when: "leaderElect",
  },
  {
    group: "coordination.k8s.io",
    resource: "leases",
    verb: "update",
    file: "sidecar/kube/lease-client.ts",
    call: "api.replaceNamespacedLease(",
    when: "leaderElect",
  },
  // The PodDisruptionBudget of cooperative hosts.
  {
    group: "policy",
    resource: "poddisruptionbudgets",
    verb: "get",
    file: "sidecar/kube/disruption-budget.ts",
    call: "api.readNamespacedPodDisruptionBudget(",
  },
  {
    group: "policy",
    resource: "poddisruptionbudgets",
    verb: "create",
    file: "sidecar/kube/disruption-budget.ts",
    call: "api.createNamespacedPodDisruptionBudget(",
  },
  {
    group: "policy",
    resource: "poddisruptionbudgets",
    verb: "update",
    file: "sidecar/kube/disruption-budget.ts",
    call: "api.replaceNamespacedPodDisruptionBudget(",
  },
  // ResourceQuotas: what the namespace still admits (getAvailableTemplates, requestMachines).
  {
    group: "",
    resource: "resourcequotas",
    verb: "list",
    file: "sidecar/kube/list-watch-sources.ts",
    call: "core.listNamespacedResourceQuota(",
    when: "watchQuotas",
  },
  {
    group: "",
    resource: "resourcequotas",
    verb: "watch",
    file: "sidecar/kube/list-watch-sources.ts",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    call: "watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/resourcequotas`",
    when: "watchQuotas",
  },
  // Nodes: whether a machine's node is going away (getReturnRequests).
  {
    group: "",
    resource: "nodes",
    verb: "list",
    file: "sidecar/kube/list-watch-sources.ts",
    call: "core.listNode(",
    when: "watchNodes",
    cluster: true,
  },
  {
    group: "",
    resource: "nodes",
    verb: "watch",
    file: "sidecar/kube/list-watch-sources.ts",
    call: 'watchPath: "/api/v1/nodes"',
    when: "watchNodes",
    cluster: true,
  },
];

/** The typed API clients the sidecar may construct; another one means calls CALLS lacks. */
const API_CLASSES = [
  "CoreV1Api",
  "CoordinationV1Api",
  "AuthorizationV1Api",
  "SchedulingV1Api",
  "NodeV1Api",
  "PolicyV1Api",
];

/** The sidecar's sources that talk to a real API server (the simulator is one). */
function sidecarSources(): { file: string; text: string }[] {
  const dir = join(ROOT, "sidecar");
  return (readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[])
    .filter((file) => file.endsWith(".ts") && !file.startsWith("simulator"))
    .map((file) => ({
      file: relative(ROOT, join(dir, file)),
      text: readFileSync(join(dir, file), "utf8"),
    }));
}

/** Every typed method of client-node's API classes: createNamespacedPod, readNamespacedLease, … */
function apiMethods(): Set<string> {
  const methods = new Set<string>();
  for (const [name, value] of Object.entries(kube)) {
    if (!name.endsWith("Api") || typeof value !== "function") continue;
    for (const method of Object.getOwnPropertyNames(value.prototype)) {
      if (/^(create|read|list|patch|replace|delete|deleteCollection|connect)[A-Z]/.test(method)) {
        methods.add(method);
      }
    }
  }
  return methods;
}

/** Each grant as "group/resource/verb", with the names it is limited to. */
function grants(rules: PolicyRule[]): Map<string, string[] | undefined> {
  const granted = new Map<string, string[] | undefined>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          const key = `${group}/${resource}/${verb}`;
          assert.ok(!granted.has(key), `${key} is granted twice`);
          granted.set(key, rule.resourceNames);
        }
      }
    }
  }
  return granted;
}

/** What a sidecar with this environment calls, as "group/resource/verb", cluster-scoped or not. */
function expectedCalls(env: Map<string, string>, cluster: boolean): string[] {
  const calls = CALLS.filter((c) => (c.cluster ?? false) === cluster && !c.everyone)
    .filter((c) => c.when === undefined || env.get(OPTION_ENV[c.when]) === "true")
    .map((c) => `${c.group}/${c.resource}/${c.verb}`);
  return [...new Set(calls)].sort();
}

/** What the rendered Role (namespaced) or ClusterRole grants. */
function granted({ all }: Rendered, kind: "Role" | "ClusterRole"): string[] {
  return all(kind)
    .flatMap((role) => [...grants((role as Role).rules).keys()])
    .sort();
}

describe("RBAC: the Role grants what the sidecar calls, and nothing else", {
  skip: helmUnavailable(),
}, () => {
  test("every call site in CALLS is in the sidecar's code", () => {
    for (const { file, call } of CALLS) {
      const text = readFileSync(join(ROOT, file), "utf8");
      assert.ok(text.includes(call), `${file} no longer contains ${call}: update CALLS`);
    }
  });

  test("the sidecar makes no Kubernetes API call that CALLS lacks", () => {
    const methods = apiMethods();
    const listed = new Set(CALLS.map((c) => `${c.file} ${c.call}`));
    for (const { file, text } of sidecarSources()) {
      for (const match of text.matchAll(/\.([A-Za-z]+)\(/g)) {
        const method = match[1] ?? "";
        if (!methods.has(method)) continue;
        const call = CALLS.find((c) => c.file === file && c.call.endsWith(`.${method}(`));
        assert.ok(call, `${file} calls ${method}, which CALLS (and so the Role) lacks`);
      }
      for (const match of text.matchAll(/watchPath: (`[^`]*`|"[^"]*")/g)) {
        assert.ok(listed.has(`${file} ${match[0]}`), `${file} watches ${match[0]}: add to CALLS`);
      }
      for (const match of text.matchAll(/makeApiClient\((\w+)\)/g)) {
        assert.ok(API_CLASSES.includes(match[1] ?? ""), `${file} uses ${match[1]}: add its calls`);
      }
    }
  });

  const cases: [string, RenderOptions][] = [
    ...VALUE_SETS.map((valueSet): [string, RenderOptions] => [valueSet, { valueSet }]),
    ["without leader election", { set: { leaderElection: { enabled: false } } }],
    ["watching nodes", { set: { watchNodes: true } }],
    ["without watching quotas", { set: { watchQuotas: false } }],
  ];
  for (const [name, options] of cases) {
    test(`${name}: Role and ClusterRole grant exactly what the sidecar so configured calls`, () => {
      const rendered = render(options);
      const env = envOf(rendered.sidecar);
      assert.deepEqual(granted(rendered, "Role"), expectedCalls(env, false));
      assert.deepEqual(granted(rendered, "ClusterRole"), expectedCalls(env, true));
    });
  }

  test("reading and updating Leases is limited to the sidecar's own Lease", () => {
    const { one, sidecar } = render({ set: { instance: "Grid_A.1" } });
    const lease = sidecar.env?.find((v) => v.name === "HOSTFACTORY_LEASE_NAME")?.value;
    assert.equal(lease, "hostfactory-k8s-grid-a-1");
    const granted = grants(one<Role>("Role").rules);
    for (const verb of ["get", "update"]) {
      assert.deepEqual(granted.get(`coordination.k8s.io/leases/${verb}`), [lease]);
    }
    // A create is authorised before the object has a name, so it cannot be limited to one.
    assert.ok(granted.has("coordination.k8s.io/leases/create"));
    assert.equal(granted.get("coordination.k8s.io/leases/create"), undefined);
  });

  test("reading and updating PodDisruptionBudgets is limited to the cooperative hosts' one", () => {
    const { one, sidecar } = render({ set: { instance: "Grid_A.1" } });
    const instance = sidecar.env?.find((v) => v.name === "HF_PROVIDER_NAME")?.value ?? "";
    const granted = grants(one<Role>("Role").rules);
    for (const verb of ["get", "update"]) {
      assert.deepEqual(granted.get(`policy/poddisruptionbudgets/${verb}`), [
        disruptionBudgetName(instance),
      ]);
    }
    assert.equal(disruptionBudgetName(instance), "hostfactory-k8s-grid-a-1-hosts");
    assert.equal(granted.get("policy/poddisruptionbudgets/create"), undefined);
    assert.ok(granted.has("policy/poddisruptionbudgets/create"));
  });

  test("the RoleBinding binds the Role to the ServiceAccount the Pod runs as", () => {
    const { one, deployment } = render();
    const binding = one("RoleBinding") as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: one("Role").metadata.name,
    });
    assert.deepEqual(binding.subjects, [
      {
        kind: "ServiceAccount",
        name: deployment.spec.template.spec.serviceAccountName,
        namespace: one("ServiceAccount").metadata.namespace,
      },
    ]);
  });

  test("cluster-wide the sidecar only reads, and nothing at all without rbac.create", () => {
    for (const valueSet of VALUE_SETS) {
      const verbs = granted(render({ valueSet }), "ClusterRole").map((g) => g.split("/")[2]);
      assert.ok(verbs.length > 0, valueSet);
      for (const verb of verbs) assert.ok(["get", "list", "watch"].includes(verb ?? ""), verb);
    }
    const kinds = render({ set: { rbac: { create: false } } }).objects.map((o) => o.kind);
    assert.ok(!kinds.includes("ClusterRole") && !kinds.includes("ClusterRoleBinding"));
  });

  test("the ClusterRoleBinding binds the ClusterRole to the sidecar's ServiceAccount", () => {
    const { one, deployment } = render();
    const binding = one("ClusterRoleBinding") as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    // Cluster-wide names: the namespace keeps two releases of the same name apart.
    assert.equal(binding.roleRef.name, `${NAMESPACE}-${FULLNAME}`);
    assert.equal(one("ClusterRole").metadata.name, binding.roleRef.name);
    assert.deepEqual(binding.subjects, [
      {
        kind: "ServiceAccount",
        name: deployment.spec.template.spec.serviceAccountName,
        namespace: NAMESPACE,
      },
    ]);
  });
});
