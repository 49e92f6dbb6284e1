// Authorization: permissions taken away from the simulator's user are refused with the API
// server's 403 and reported by SelfSubjectAccessReview, the way RBAC would.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { AuthorizationV1Api, type V1ResourceAttributes } from "@kubernetes/client-node";
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

describe("SelfSubjectAccessReview", () => {
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
