// Discovery and server-side printing, on the simulator and on the real API server: what kubectl
// and client-go tools read before anything else.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VersionApi } from "@kubernetes/client-node";
import { describeOnBackends } from "./backends.ts";

describeOnBackends("discovery", {}, (backend) => {
  test("/version reports a Kubernetes version client-node can read", async () => {
    const version = await backend().kc.makeApiClient(VersionApi).getCode();
    assert.equal(version.major, "1");
    assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
  });

  test("/api and /apis list the served group versions (among others, on a real server)", async () => {
    const core = await backend().raw("GET", "/api");
    assert.equal(core.json.kind, "APIVersions");
    assert.deepEqual(core.json.versions, ["v1"]);
    const groups = await backend().raw("GET", "/apis");
    assert.equal(groups.json.kind, "APIGroupList");
    const served = groups.json.groups.map((group: { name: string }) => group.name);
    for (const name of ["coordination.k8s.io", "authorization.k8s.io"]) {
      assert.ok(served.includes(name), name);
    }
  });

  test("/api/v1 lists pods with their subresources, and the other core resources", async () => {
    const list = await backend().raw("GET", "/api/v1");
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
    const list = await backend().raw("GET", "/apis/coordination.k8s.io/v1");
    assert.deepEqual(
      list.json.resources.map((resource: { name: string }) => resource.name),
      ["leases"],
    );
  });

  test("an unknown resource of a served group answers a 404 Status; a path no group serves, Go's plain 404", async () => {
    const resource = await backend().raw("GET", "/api/v1/namespaces/default/widgets");
    assert.equal(resource.status, 404);
    assert.deepEqual(resource.json, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "the server could not find the requested resource",
      reason: "NotFound",
      details: {},
      code: 404,
    });
    const group = await backend().raw("GET", "/apis/example.com/v1/namespaces/default/widgets");
    assert.equal(group.status, 404);
    assert.equal(group.text, "404 page not found\n");
  });

  test("a list asked for as=Table answers a Table with the pod columns", async () => {
    const namespace = await backend().namespace();
    await backend().core.createNamespacedPod({
      namespace,
      body: { metadata: { name: "tabled" }, spec: { containers: [{ name: "c", image: "i:1" }] } },
    });
    const response = await backend().raw("GET", `/api/v1/namespaces/${namespace}/pods`, undefined, {
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
    const index = await backend().raw("GET", "/openapi/v3");
    const url = index.json.paths["api/v1"].serverRelativeURL as string;
    const document = await backend().raw("GET", url);
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
});
