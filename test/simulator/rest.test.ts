// REST semantics of the simulator through the real client-node: create, get, update, patch,
// delete and subresources, with the Status bodies the real API server sends.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type Env,
  jsonPatch,
  mergePatch,
  podBody,
  raw,
  startEnv,
  statusOf,
  strategicPatch,
  waitFor,
} from "./helpers.ts";

let env: Env;
before(async () => {
  env = await startEnv();
});
after(() => env.sim.close());

describe("create", () => {
  test("fills uid, creationTimestamp, resourceVersion and generation", async () => {
    const pod = await env.core.createNamespacedPod({ namespace: "default", body: podBody("meta") });
    assert.match(pod.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
    assert.ok(pod.metadata?.creationTimestamp instanceof Date);
    assert.match(pod.metadata?.resourceVersion ?? "", /^\d+$/);
    assert.equal(pod.metadata?.generation, 1);
    assert.equal(pod.status?.phase, "Pending");
  });

  test("generateName gets a 5-character random suffix", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { generateName: "gen-" } },
    });
    assert.match(cm.metadata?.name ?? "", /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test("a generated name that is taken is drawn again", async () => {
    const firstDraw = async (prepare: (sim: Env["sim"]) => void) => {
      const local = await startEnv({ seed: 1234 });
      prepare(local.sim);
      const cm = await local.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { generateName: "clash-" } },
      });
      await local.sim.close();
      return cm.metadata?.name as string;
    };
    const unopposed = await firstDraw(() => {});
    const redrawn = await firstDraw((sim) => {
      // The same seed draws the same first suffix; that name is taken here (uid given, so the
      // store draws nothing from the seeded source).
      sim.store.put("configmaps", {
        metadata: { name: unopposed, namespace: "default", uid: "fixed" },
      });
    });
    assert.match(redrawn, /^clash-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.notEqual(redrawn, unopposed);
  });

  test("an existing name answers 409 AlreadyExists with a Status body", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "dup" } },
    });
    await assert.rejects(
      env.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "dup" } },
      }),
      (error: { code: number }) => {
        assert.equal(error.code, 409);
        assert.deepEqual(statusOf(error), {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: 'configmaps "dup" already exists',
          reason: "AlreadyExists",
          details: { name: "dup", kind: "configmaps" },
          code: 409,
        });
        return true;
      },
    );
  });

  test("a pod without containers answers 422 Invalid naming the field", async () => {
    await assert.rejects(
      env.core.createNamespacedPod({
        namespace: "default",
        body: { metadata: { name: "empty" }, spec: { containers: [] } },
      }),
      (error: { code: number }) => {
        const status = statusOf(error);
        assert.equal(error.code, 422);
        assert.equal(status.reason, "Invalid");
        assert.equal(status.message, 'Pod "empty" is invalid: spec.containers: Required value');
        assert.deepEqual(status.details, {
          name: "empty",
          kind: "Pod",
          causes: [
            { reason: "FieldValueRequired", message: "Required value", field: "spec.containers" },
          ],
        });
        return true;
      },
    );
  });

  test("a name that is not a DNS-1123 subdomain answers 422 Invalid", async () => {
    await assert.rejects(
      env.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "Bad_Name" } },
      }),
      (error: { code: number }) => {
        assert.equal(error.code, 422);
        assert.match(
          statusOf(error).message ?? "",
          /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
        );
        return true;
      },
    );
  });

  test("a body whose namespace disagrees with the URL answers 400", async () => {
    await assert.rejects(
      env.core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "x", namespace: "kube-system" } },
      }),
      (error: { code: number }) => {
        assert.equal(error.code, 400);
        assert.equal(statusOf(error).reason, "BadRequest");
        return true;
      },
    );
  });

  test("a namespace that does not exist answers 404", async () => {
    await assert.rejects(
      env.core.createNamespacedConfigMap({
        namespace: "nowhere",
        body: { metadata: { name: "x" } },
      }),
      (error: { code: number }) =>
        error.code === 404 && statusOf(error).message === 'namespaces "nowhere" not found',
    );
  });
});

describe("get", () => {
  test("a missing object answers 404 NotFound with a Status body", async () => {
    await assert.rejects(
      env.core.readNamespacedPod({ namespace: "default", name: "ghost" }),
      (error: { code: number }) => {
        assert.equal(error.code, 404);
        assert.deepEqual(statusOf(error), {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: 'pods "ghost" not found',
          reason: "NotFound",
          details: { name: "ghost", kind: "pods" },
          code: 404,
        });
        return true;
      },
    );
  });
});

describe("update", () => {
  test("a current resourceVersion succeeds and moves the resourceVersion forward", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "upd" }, data: { a: "1" } },
    });
    const updated = await env.core.replaceNamespacedConfigMap({
      namespace: "default",
      name: "upd",
      body: { ...cm, data: { a: "2" } },
    });
    assert.equal(updated.data?.a, "2");
    assert.ok(Number(updated.metadata?.resourceVersion) > Number(cm.metadata?.resourceVersion));
    assert.equal(updated.metadata?.uid, cm.metadata?.uid);
  });

  test("a stale resourceVersion answers 409 Conflict", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "stale" } },
    });
    await env.core.replaceNamespacedConfigMap({
      namespace: "default",
      name: "stale",
      body: { ...cm, data: { x: "1" } },
    });
    await assert.rejects(
      env.core.replaceNamespacedConfigMap({
        namespace: "default",
        name: "stale",
        body: { ...cm, data: { x: "2" } },
      }),
      (error: { code: number }) => {
        const status = statusOf(error);
        assert.equal(error.code, 409);
        assert.equal(status.reason, "Conflict");
        assert.equal(
          status.message,
          'Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again',
        );
        return true;
      },
    );
  });

  test("a pod spec change other than the image answers 422; an image change bumps generation", async () => {
    const pod = await env.core.createNamespacedPod({
      namespace: "default",
      body: podBody("immutable", { manual: true }),
    });
    const changed = structuredClone(pod);
    const [container] = changed.spec?.containers ?? [];
    assert.ok(container);
    container.image = "registry.example/compute:2.0";
    const updated = await env.core.replaceNamespacedPod({
      namespace: "default",
      name: "immutable",
      body: changed,
    });
    assert.equal(updated.metadata?.generation, 2);
    const forbidden = {
      ...updated,
      spec: { ...updated.spec, containers: updated.spec?.containers ?? [], restartPolicy: "Never" },
    };
    await assert.rejects(
      env.core.replaceNamespacedPod({ namespace: "default", name: "immutable", body: forbidden }),
      (error: { code: number }) => error.code === 422,
    );
  });

  test("an update of the main resource leaves the pod status alone; pods/status changes only status", async () => {
    const pod = await env.core.createNamespacedPod({
      namespace: "default",
      body: podBody("status-split", { manual: true }),
    });
    const withStatus = {
      ...pod,
      metadata: { ...pod.metadata, labels: { a: "b" } },
      status: { phase: "Failed" as const },
    };
    const updated = await env.core.replaceNamespacedPod({
      namespace: "default",
      name: "status-split",
      body: withStatus,
    });
    assert.equal(updated.status?.phase, "Pending");
    assert.equal(updated.metadata?.labels?.a, "b");
    const statusUpdated = await env.core.replaceNamespacedPodStatus({
      namespace: "default",
      name: "status-split",
      body: {
        ...updated,
        metadata: { ...updated.metadata, labels: {} },
        status: { ...updated.status, message: "hello" },
      },
    });
    assert.equal(statusUpdated.status?.message, "hello");
    assert.equal(statusUpdated.metadata?.labels?.a, "b");
  });
});

describe("patch", () => {
  test("merge patch adds and removes keys", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "mp" }, data: { a: "1", b: "2" } },
    });
    const patched = await env.core.patchNamespacedConfigMap(
      { namespace: "default", name: "mp", body: { data: { b: null, c: "3" } } },
      mergePatch,
    );
    assert.deepEqual(patched.data, { a: "1", c: "3" });
  });

  test("JSON patch applies operations, and a failed test operation answers 422", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "jp" }, data: { a: "1" } },
    });
    const patched = await env.core.patchNamespacedConfigMap(
      {
        namespace: "default",
        name: "jp",
        body: [
          { op: "test", path: "/data/a", value: "1" },
          { op: "add", path: "/data/b", value: "2" },
        ],
      },
      jsonPatch,
    );
    assert.deepEqual(patched.data, { a: "1", b: "2" });
    await assert.rejects(
      env.core.patchNamespacedConfigMap(
        { namespace: "default", name: "jp", body: [{ op: "test", path: "/data/a", value: "9" }] },
        jsonPatch,
      ),
      (error: { code: number }) => error.code === 422,
    );
  });

  test("strategic merge patch merges pod status conditions by type and finalizers as a set", async () => {
    await env.core.createNamespacedPod({
      namespace: "default",
      body: { ...podBody("smp"), metadata: { name: "smp", finalizers: ["a/one"] } },
    });
    await env.core.patchNamespacedPodStatus(
      {
        namespace: "default",
        name: "smp",
        body: { status: { conditions: [{ type: "Custom", status: "True" }] } },
      },
      strategicPatch,
    );
    const patched = await env.core.patchNamespacedPodStatus(
      {
        namespace: "default",
        name: "smp",
        body: { status: { conditions: [{ type: "Other", status: "False" }] } },
      },
      strategicPatch,
    );
    const types = (patched.status?.conditions ?? []).map((condition) => condition.type);
    assert.ok(types.includes("Custom") && types.includes("Other"), `conditions: ${types}`);
    const meta = await env.core.patchNamespacedPod(
      { namespace: "default", name: "smp", body: { metadata: { finalizers: ["a/two"] } } },
      strategicPatch,
    );
    assert.deepEqual(meta.metadata?.finalizers, ["a/one", "a/two"]);
    await env.core.patchNamespacedPod(
      { namespace: "default", name: "smp", body: { metadata: { finalizers: null } } },
      mergePatch,
    );
  });

  test("a patch content type that is not implemented answers 415", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "apply" } },
    });
    const response = await raw(
      env.sim,
      "PATCH",
      "/api/v1/namespaces/default/configmaps/apply",
      "{}",
      {
        "Content-Type": "application/apply-patch+yaml",
      },
    );
    assert.equal(response.status, 415);
    assert.equal(response.json.reason, "UnsupportedMediaType");
  });

  test("a patch carrying a stale resourceVersion answers 409 Conflict", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "pcas" } },
    });
    await env.core.patchNamespacedConfigMap(
      { namespace: "default", name: "pcas", body: { data: { a: "1" } } },
      mergePatch,
    );
    await assert.rejects(
      env.core.patchNamespacedConfigMap(
        {
          namespace: "default",
          name: "pcas",
          body: { metadata: { resourceVersion: cm.metadata?.resourceVersion }, data: { a: "2" } },
        },
        mergePatch,
      ),
      (error: { code: number }) => error.code === 409,
    );
  });
});

describe("delete", () => {
  test("a running pod is deleted gracefully: deletionTimestamp and grace period, then gone", async () => {
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("graceful") });
    await waitFor(
      async () =>
        (await env.core.readNamespacedPod({ namespace: "default", name: "graceful" })).status
          ?.phase === "Running",
      "Running",
    );
    const deleted = await env.core.deleteNamespacedPod({
      namespace: "default",
      name: "graceful",
      gracePeriodSeconds: 1,
    });
    assert.ok(deleted.metadata?.deletionTimestamp instanceof Date);
    assert.equal(deleted.metadata?.deletionGracePeriodSeconds, 1);
    assert.ok(
      env.sim.store.get("pods", "default", "graceful"),
      "still there during the grace period",
    );
    await waitFor(
      () => env.sim.store.get("pods", "default", "graceful") === undefined,
      "removal after the grace period",
      3000,
    );
  });

  test("an unscheduled pod is removed at once", async () => {
    await env.core.createNamespacedPod({
      namespace: "default",
      body: {
        ...podBody("unscheduled"),
        spec: { ...podBody("x").spec, nodeSelector: { nowhere: "true" } },
      },
    });
    const deleted = await env.core.deleteNamespacedPod({
      namespace: "default",
      name: "unscheduled",
    });
    assert.equal(deleted.metadata?.name, "unscheduled");
    assert.equal(env.sim.store.get("pods", "default", "unscheduled"), undefined);
  });

  test("finalizers hold a deleted object until they are removed", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "held", finalizers: ["example.com/hold"] } },
    });
    const held = await raw(env.sim, "DELETE", "/api/v1/namespaces/default/configmaps/held");
    assert.equal(held.status, 200);
    assert.ok(held.json.metadata.deletionTimestamp);
    assert.ok(env.sim.store.get("configmaps", "default", "held"));
    await env.core.patchNamespacedConfigMap(
      { namespace: "default", name: "held", body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    assert.equal(env.sim.store.get("configmaps", "default", "held"), undefined);
  });

  test("a deleted configmap answers a Success Status; a missing one 404", async () => {
    const cm = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "gone" } },
    });
    const status = await env.core.deleteNamespacedConfigMap({ namespace: "default", name: "gone" });
    assert.equal(status.status, "Success");
    assert.equal(status.details?.uid, cm.metadata?.uid);
    await assert.rejects(
      env.core.deleteNamespacedConfigMap({ namespace: "default", name: "gone" }),
      (error: { code: number }) => error.code === 404,
    );
  });

  test("propagationPolicy Foreground adds the foregroundDeletion finalizer while dependents remain", async () => {
    const owner = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "fg" } },
    });
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        metadata: {
          name: "fg-child",
          finalizers: ["example.com/hold"],
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "fg", uid: owner.metadata?.uid as string },
          ],
        },
      },
    });
    const response = await raw(env.sim, "DELETE", "/api/v1/namespaces/default/configmaps/fg", {
      propagationPolicy: "Foreground",
    });
    assert.deepEqual(response.json.metadata.finalizers, ["foregroundDeletion"]);
    await env.core.patchNamespacedConfigMap(
      { namespace: "default", name: "fg-child", body: { metadata: { finalizers: null } } },
      mergePatch,
    );
  });

  test("a uid precondition that does not match answers 409", async () => {
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "precond" } },
    });
    await assert.rejects(
      env.core.deleteNamespacedConfigMap({
        namespace: "default",
        name: "precond",
        body: { preconditions: { uid: "other" } },
      }),
      (error: { code: number }) => error.code === 409,
    );
  });
});

describe("subresources", () => {
  test("pods/eviction marks DisruptionTarget and deletes gracefully", async () => {
    await env.core.createNamespacedPod({ namespace: "default", body: podBody("evictee") });
    await waitFor(
      () =>
        (env.sim.store.get("pods", "default", "evictee") as { status?: { phase?: string } }).status
          ?.phase === "Running",
      "Running",
    );
    await env.core.createNamespacedPodEviction({
      namespace: "default",
      name: "evictee",
      body: {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "evictee", namespace: "default" },
      },
    });
    const pod = await env.core.readNamespacedPod({ namespace: "default", name: "evictee" });
    assert.ok(pod.metadata?.deletionTimestamp);
    const disruption = pod.status?.conditions?.find(
      (condition) => condition.type === "DisruptionTarget",
    );
    assert.equal(disruption?.reason, "EvictionByEvictionAPI");
  });
});

describe("leases", () => {
  test("coordination.k8s.io leases support create, get, update with conflicts, and delete", async () => {
    const lease = await env.coordination.createNamespacedLease({
      namespace: "default",
      body: {
        metadata: { name: "leader" },
        spec: { holderIdentity: "a", leaseDurationSeconds: 15 },
      },
    });
    const renewed = await env.coordination.replaceNamespacedLease({
      namespace: "default",
      name: "leader",
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "b" } },
    });
    assert.equal(renewed.spec?.holderIdentity, "b");
    await assert.rejects(
      env.coordination.replaceNamespacedLease({
        namespace: "default",
        name: "leader",
        body: { ...lease, spec: { holderIdentity: "c" } },
      }),
      (error: { code: number }) => error.code === 409,
    );
    const read = await env.coordination.readNamespacedLease({
      namespace: "default",
      name: "leader",
    });
    assert.equal(read.spec?.holderIdentity, "b");
    await env.coordination.deleteNamespacedLease({ namespace: "default", name: "leader" });
    assert.equal(env.sim.store.get("leases", "default", "leader"), undefined);
  });
});

describe("garbage collection", () => {
  const owned = (name: string, owner: { metadata?: { name?: string; uid?: string } }) => ({
    metadata: {
      name,
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          name: owner.metadata?.name as string,
          uid: owner.metadata?.uid as string,
        },
      ],
    },
  });

  test("dependents of a deleted owner are deleted in the background", async () => {
    const owner = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "owner-bg" } },
    });
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: owned("dependent-bg", owner),
    });
    await env.core.deleteNamespacedConfigMap({ namespace: "default", name: "owner-bg" });
    await waitFor(
      () => env.sim.store.get("configmaps", "default", "dependent-bg") === undefined,
      "the dependent to go",
    );
  });

  test("a Foreground delete keeps the owner until its dependents are gone", async () => {
    const owner = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "owner-fg" } },
    });
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: {
        ...owned("dependent-fg", owner),
        metadata: { ...owned("dependent-fg", owner).metadata, finalizers: ["example.com/hold"] },
      },
    });
    await env.core.deleteNamespacedConfigMap({
      namespace: "default",
      name: "owner-fg",
      propagationPolicy: "Foreground",
    });
    await waitFor(
      () => env.sim.store.get("configmaps", "default", "dependent-fg")?.metadata.deletionTimestamp,
      "the dependent to be deleted",
    );
    assert.ok(env.sim.store.get("configmaps", "default", "owner-fg"), "the owner waits");
    await env.core.patchNamespacedConfigMap(
      { namespace: "default", name: "dependent-fg", body: { metadata: { finalizers: null } } },
      mergePatch,
    );
    await waitFor(
      () => env.sim.store.get("configmaps", "default", "owner-fg") === undefined,
      "the owner to go",
    );
  });

  test("an Orphan delete removes the owner reference and keeps the dependent", async () => {
    const owner = await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "owner-or" } },
    });
    await env.core.createNamespacedConfigMap({
      namespace: "default",
      body: owned("dependent-or", owner),
    });
    await env.core.deleteNamespacedConfigMap({
      namespace: "default",
      name: "owner-or",
      propagationPolicy: "Orphan",
    });
    await waitFor(
      () => env.sim.store.get("configmaps", "default", "owner-or") === undefined,
      "the owner to go",
    );
    const dependent = env.sim.store.get("configmaps", "default", "dependent-or");
    assert.ok(dependent);
    assert.equal(dependent.metadata.ownerReferences, undefined);
  });
});
