// The permissions `hostfactory doctor` checks are the ones the sidecar needs in its
// configuration, and the chart's Role and ClusterRole grant every one of them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Permission, sidecarPermissions } from "../../sidecar/admin/permissions.ts";
import { helmUnavailable } from "../charts/_helm.ts";
import {
  envOf,
  NAMESPACE,
  type PolicyRule,
  type RenderOptions,
  type Role,
  render,
  VALUE_SETS,
} from "../charts/_render.ts";

const key = (p: Permission) =>
  `${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}${p.name ? `/${p.name}` : ""}${p.namespace ? "" : " (cluster)"}`;

describe("sidecarPermissions", () => {
  test("a sidecar without leader election, nodes or quotas needs pods, configmaps and events, and reads what templates name", () => {
    const permissions = sidecarPermissions({
      namespace: "grid",
      instance: "grid",
      leaderElect: false,
      leaseName: "hostfactory-k8s-grid",
      watchNodes: false,
      watchQuotas: false,
    });
    assert.deepEqual(permissions.map(key), [
      "list pods",
      "watch pods",
      "create pods",
      "delete pods",
      "create configmaps",
      "get configmaps",
      "list configmaps",
      "watch configmaps",
      "patch configmaps",
      "delete configmaps",
      "create events",
      "list events",
      "get serviceaccounts",
      "get priorityclasses.scheduling.k8s.io (cluster)",
      "get runtimeclasses.node.k8s.io (cluster)",
      "create poddisruptionbudgets.policy",
      "get poddisruptionbudgets.policy/hostfactory-k8s-grid-hosts",
      "update poddisruptionbudgets.policy/hostfactory-k8s-grid-hosts",
    ]);
    assert.ok(permissions.every((p) => p.purpose !== ""));
    assert.deepEqual(
      permissions.filter((p) => !p.required).map(key),
      [
        "create events",
        "list events",
        "get serviceaccounts",
        "get priorityclasses.scheduling.k8s.io (cluster)",
        "get runtimeclasses.node.k8s.io (cluster)",
        "create poddisruptionbudgets.policy",
        "get poddisruptionbudgets.policy/hostfactory-k8s-grid-hosts",
        "update poddisruptionbudgets.policy/hostfactory-k8s-grid-hosts",
      ],
      "only Events, the templates' references and the cooperative templates' PodDisruptionBudget are optional",
    );
  });

  test("leader election adds its Lease, limited to its name where Kubernetes allows; quotas and nodes their reads", () => {
    const options = { namespace: "grid", instance: "grid", leaseName: "hostfactory-k8s-grid" };
    const base = sidecarPermissions({
      ...options,
      leaderElect: false,
      watchNodes: false,
      watchQuotas: false,
    });
    const permissions = sidecarPermissions({
      ...options,
      leaderElect: true,
      watchNodes: true,
      watchQuotas: true,
    });
    assert.deepEqual(permissions.slice(0, base.length), base);
    assert.deepEqual(permissions.slice(base.length).map(key), [
      "create leases.coordination.k8s.io",
      "get leases.coordination.k8s.io/hostfactory-k8s-grid",
      "update leases.coordination.k8s.io/hostfactory-k8s-grid",
      "list resourcequotas",
      "watch resourcequotas",
      "list nodes (cluster)",
      "watch nodes (cluster)",
    ]);
  });
});

function grants(rules: PolicyRule[], p: Permission): boolean {
  return rules.some(
    (rule) =>
      rule.apiGroups.includes(p.group) &&
      rule.resources.includes(p.resource) &&
      rule.verbs.includes(p.verb) &&
      (rule.resourceNames === undefined || rule.resourceNames.includes(p.name)),
  );
}

describe("the chart grants every permission doctor checks", { skip: helmUnavailable() }, () => {
  const cases: [string, RenderOptions][] = [
    ...VALUE_SETS.map((valueSet): [string, RenderOptions] => [valueSet, { valueSet }]),
    ["without leader election", { set: { leaderElection: { enabled: false } } }],
    ["watching nodes", { set: { watchNodes: true } }],
    ["without watching quotas", { set: { watchQuotas: false } }],
  ];
  for (const [name, options] of cases) {
    test(name, () => {
      const rendered = render(options);
      const env = envOf(rendered.sidecar);
      const permissions = sidecarPermissions({
        namespace: NAMESPACE,
        instance: env.get("HF_PROVIDER_NAME") ?? "",
        leaderElect: env.get("HOSTFACTORY_LEADER_ELECT") !== "false",
        leaseName: env.get("HOSTFACTORY_LEASE_NAME") ?? "",
        watchNodes: env.get("HOSTFACTORY_WATCH_NODES") === "true",
        watchQuotas: env.get("HOSTFACTORY_WATCH_QUOTAS") === "true",
      });
      const rules = (kind: string) => rendered.all(kind).flatMap((role) => (role as Role).rules);
      for (const permission of permissions) {
        const granted = grants(rules(permission.namespace ? "Role" : "ClusterRole"), permission);
        assert.ok(granted, `${key(permission)} (${permission.purpose}) is not granted`);
      }
    });
  }
});
