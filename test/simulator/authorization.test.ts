// Authorization: a request the user may not make is refused with the API server's 403 and
// reported by SelfSubjectAccessReview, on the simulator (its denial rules, simulator only below)
// and on the real API server (RBAC), compared in the last block.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { AuthorizationV1Api, CoreV1Api, type V1ResourceAttributes } from "@kubernetes/client-node";
import { SIMULATED_USER } from "../../sidecar/simulator/index.ts";
import { waitFor } from "../tools/wait-for.ts";
import type { Backend } from "./backend.ts";
import { describeOnBackends } from "./backends.ts";
import { type Env, podBody, raw, startEnv, statusOf } from "./helpers.ts";

let env: Env | undefined;
afterEach(async () => {
  await env?.sim.close();
  env = undefined;
});

async function canI(current: Env, attributes: V1ResourceAttributes) {
  const api = current.kc.makeApiClient(AuthorizationV1Api);
  const review = await api.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: attributes } },
  });
  return review.status;
}

describe("simulator only: denial rules and SelfSubjectAccessReview", () => {
  test("allows everything while no denial is in force", async () => {
    env = await startEnv();
    const status = await canI(env, { verb: "delete", resource: "pods", namespace: "default" });
    assert.equal(status?.allowed, true);
  });

  test("reports a denied verb as not allowed, and the request itself gets 403 Forbidden", async () => {
    env = await startEnv({ denials: [{ verbs: ["delete"], resources: ["pods"] }] });
    const denied = await canI(env, { verb: "delete", resource: "pods", namespace: "default" });
    assert.equal(denied?.allowed, false);
    const allowed = await canI(env, { verb: "create", resource: "pods", namespace: "default" });
    assert.equal(allowed?.allowed, true);

    await env.core.createNamespacedPod({ namespace: "default", body: podBody("victim") });
    const error = await env.core
      .deleteNamespacedPod({ namespace: "default", name: "victim" })
      .then(() => undefined, statusOf);
    assert.equal(error?.code, 403);
    assert.equal(error?.reason, "Forbidden");
    assert.equal(
      error?.message,
      'pods "victim" is forbidden: User "simulator" cannot delete resource "pods" in API group "" in the namespace "default"',
    );
  });

  test("a denial limited to names, groups and namespaces matches only those", async () => {
    env = await startEnv();
    env.sim.authorization.deny({
      verbs: ["update"],
      groups: ["coordination.k8s.io"],
      resources: ["leases"],
      namespaces: ["default"],
      names: ["hostfactory-k8s-e2e"],
    });
    const lease = { group: "coordination.k8s.io", resource: "leases", verb: "update" };
    assert.equal(
      (await canI(env, { ...lease, namespace: "default", name: "hostfactory-k8s-e2e" }))?.allowed,
      false,
    );
    assert.equal(
      (await canI(env, { ...lease, namespace: "default", name: "other" }))?.allowed,
      true,
    );
    assert.equal(
      (await canI(env, { ...lease, namespace: "kube-system", name: "hostfactory-k8s-e2e" }))
        ?.allowed,
      true,
    );
    assert.equal((await canI(env, { ...lease, namespace: "default" }))?.allowed, true);
  });

  test("a subresource and a cluster-scoped resource are named as the API server names them", async () => {
    env = await startEnv();
    const lift = env.sim.authorization.deny({ verbs: ["list"], resources: ["nodes"] });
    env.sim.authorization.deny({ verbs: ["create"], resources: ["pods/eviction"] });
    const nodes = await env.core.listNode().then(() => undefined, statusOf);
    assert.equal(
      nodes?.message,
      'nodes is forbidden: User "simulator" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    const eviction = await canI(env, {
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      namespace: "default",
      name: "any",
    });
    assert.equal(eviction?.allowed, false);
    lift();
    assert.equal((await canI(env, { verb: "list", resource: "nodes" }))?.allowed, true);
  });

  test("a review with neither resource nor non-resource attributes is 422 Invalid", async () => {
    env = await startEnv();
    const reply = await raw(
      env.sim,
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectAccessReview", spec: {} },
    );
    assert.equal(reply.status, 422);
    assert.equal(reply.json.reason, "Invalid");
  });

  test("reviews are only created: reading them is 405, and discovery lists the group", async () => {
    env = await startEnv();
    const get = await raw(env.sim, "GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    assert.equal(get.status, 405);
    const groups = await raw(env.sim, "GET", "/apis");
    assert.ok(
      groups.json.groups.some((g: { name: string }) => g.name === "authorization.k8s.io"),
      "authorization.k8s.io in /apis",
    );
    const resources = await raw(env.sim, "GET", "/apis/authorization.k8s.io/v1");
    assert.deepEqual(resources.json.resources, [
      {
        name: "selfsubjectaccessreviews",
        singularName: "selfsubjectaccessreview",
        namespaced: false,
        kind: "SelfSubjectAccessReview",
        verbs: ["create"],
        storageVersionHash: resources.json.resources[0].storageVersionHash,
      },
    ]);
  });

  test("the admin endpoint adds, lists and lifts denials", async () => {
    env = await startEnv();
    const rule = { verbs: ["watch"], resources: ["configmaps"] };
    const added = await raw(env.sim, "POST", "/simulator/authorization/deny", rule);
    assert.deepEqual(added.json, [rule]);
    assert.deepEqual((await raw(env.sim, "GET", "/simulator/authorization")).json, [rule]);
    assert.equal((await canI(env, { verb: "watch", resource: "configmaps" }))?.allowed, false);
    assert.deepEqual((await raw(env.sim, "DELETE", "/simulator/authorization")).json, []);
    assert.equal((await canI(env, { verb: "watch", resource: "configmaps" }))?.allowed, true);
  });
});

/**
 * A user who may create and read pods in the namespace but not delete them: on the real server a
 * ServiceAccount bound to such a Role (RBAC denies the rest); on the simulator, a denial rule
 * (it has one user, "simulator"). Answers the user's name and clients.
 */
async function limitedUser(api: Backend, namespace: string) {
  if (api.sim) {
    api.sim.authorization.deny({ verbs: ["delete"], resources: ["pods"], namespaces: [namespace] });
    return { user: SIMULATED_USER, kc: api.kc };
  }
  const name = "limited";
  await api.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  const role = await api.raw("POST", `${rbac}/roles`, {
    metadata: { name },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create", "get"] }],
  });
  assert.equal(role.status, 201, role.text);
  const binding = await api.raw("POST", `${rbac}/rolebindings`, {
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  });
  assert.equal(binding.status, 201, binding.text);
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    kc: await api.kubeConfigFor(namespace, name),
  };
}

describeOnBackends("authorization", {}, (backend) => {
  test("a request the user may not make answers 403 Forbidden naming user, verb, resource and namespace; SelfSubjectAccessReview agrees", async () => {
    const api = backend();
    const namespace = await api.namespace("authz");
    const { user, kc } = await limitedUser(api, namespace);
    const core = kc.makeApiClient(CoreV1Api);
    const reviews = kc.makeApiClient(AuthorizationV1Api);
    const allowed = async (verb: string) =>
      (
        await reviews.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource: "pods", namespace } } },
        })
      ).status?.allowed;
    // RBAC grants take a moment to reach the authorizer's cache.
    await waitFor("the grant", async () => (await allowed("create")) === true, {
      timeoutMs: 30_000,
    });
    assert.equal(await allowed("delete"), false);
    await core.createNamespacedPod({ namespace, body: podBody("victim", { manual: true }) });
    const error = await core
      .deleteNamespacedPod({ namespace, name: "victim" })
      .then(() => undefined, statusOf);
    assert.equal(error?.code, 403);
    assert.equal(error?.reason, "Forbidden");
    assert.equal(
      error?.message,
      `pods "victim" is forbidden: User "${user}" cannot delete resource "pods" in API group "" in the namespace "${namespace}"`,
    );
    assert.deepEqual(error?.details, { name: "victim", kind: "pods" });
  });
});
