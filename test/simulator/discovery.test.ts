// Discovery and server-side printing: what kubectl and client-go tools read before anything else.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { VersionApi } from "@kubernetes/client-node";
import { type Env, raw, startEnv } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await startEnv();
});
after(() => env.sim.close());

test("/version reports a Kubernetes version client-node can read", async () => {
  const version = await env.kc.makeApiClient(VersionApi).getCode();
  assert.equal(version.major, "1");
  assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
});

test("/api and /apis list the served group versions", async () => {
  const core = await raw(env.sim, "GET", "/api");
  assert.equal(core.json.kind, "APIVersions");
  assert.deepEqual(core.json.versions, ["v1"]);
  const groups = await raw(env.sim, "GET", "/apis");
  assert.equal(groups.json.kind, "APIGroupList");
  assert.deepEqual(
    groups.json.groups.map((group: { name: string }) => group.name),
    ["coordination.k8s.io", "authorization.k8s.io"],
  );
});

test("/api/v1 lists pods with their subresources, and the other core resources", async () => {
  const list = await raw(env.sim, "GET", "/api/v1");
  assert.equal(list.json.kind, "APIResourceList");
  const names = list.json.resources.map((resource: { name: string }) => resource.name);
  for (const name of [
    "pods",
    "pods/status",
    "pods/eviction",
    "pods/binding",
    "configmaps",
    "events",
    "nodes",
    "namespaces",
  ]) {
    assert.ok(names.includes(name), name);
  }
  const pods = list.json.resources.find((resource: { name: string }) => resource.name === "pods");
  assert.deepEqual(pods.shortNames, ["po"]);
  assert.equal(pods.namespaced, true);
  assert.ok(pods.verbs.includes("watch"));
});

test("/apis/coordination.k8s.io/v1 lists leases", async () => {
  const list = await raw(env.sim, "GET", "/apis/coordination.k8s.io/v1");
  assert.deepEqual(
    list.json.resources.map((resource: { name: string }) => resource.name),
    ["leases"],
  );
});

test("an unknown path answers a 404 Status", async () => {
  const response = await raw(env.sim, "GET", "/apis/apps/v1/namespaces/default/deployments");
  assert.equal(response.status, 404);
  assert.equal(response.json.kind, "Status");
  assert.equal(response.json.reason, "NotFound");
});

test("a list asked for as=Table answers a Table with the pod columns", async () => {
  await env.core.createNamespacedPod({
    namespace: "default",
    body: { metadata: { name: "tabled" }, spec: { containers: [{ name: "c", image: "i:1" }] } },
  });
  const response = await raw(env.sim, "GET", "/api/v1/namespaces/default/pods", undefined, {
    Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
  });
  assert.equal(response.json.kind, "Table");
  assert.deepEqual(
    response.json.columnDefinitions
      .filter((column: { priority: number }) => column.priority === 0)
      .map((column: { name: string }) => column.name),
    ["Name", "Ready", "Status", "Restarts", "Age"],
  );
  assert.equal(response.json.rows[0].cells[0], "tabled");
  assert.equal(response.json.rows[0].object.kind, "PartialObjectMetadata");
});

test("the OpenAPI v3 index names each group version, with PATCH taking fieldValidation", async () => {
  const index = await raw(env.sim, "GET", "/openapi/v3");
  const url = index.json.paths["api/v1"].serverRelativeURL as string;
  const document = await raw(env.sim, "GET", url);
  const patch = document.json.paths["/api/v1/namespaces/{namespace}/pods/{name}"].patch;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
    group: "",
    version: "v1",
    kind: "Pod",
  });
  assert.ok(
    patch.parameters.some((parameter: { name: string }) => parameter.name === "fieldValidation"),
  );
});
