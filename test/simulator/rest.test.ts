// REST semantics through the real client-node, on the simulator and on the real API server:
// create, get, update, patch, delete and subresources, with the Status bodies the API server
// sends. Every test works in a namespace of its own.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { waitFor } from "../tools/wait-for.ts";
import { describeOnBackends } from "./backends.ts";
import {
  CONTROLLER_TIMEOUT_MS,
  type Env,
  found,
  jsonPatch,
  mergePatch,
  POD_RUNNING_TIMEOUT_MS,
  podBody,
  REMOVAL_TIMEOUT_MS,
  startEnv,
  statusOf,
  strategicPatch,
} from "./helpers.ts";

/** A finalizer no controller knows: it holds an object until the test lifts it. */
const HOLD = "example.com/hold";

describeOnBackends("REST", {}, (backend) => {
  describe("create", () => {
    test("fills uid, creationTimestamp, resourceVersion and generation", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const pod = await api.core.createNamespacedPod({ namespace, body: podBody("meta") });
      assert.match(pod.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
      assert.ok(pod.metadata?.creationTimestamp instanceof Date);
      assert.match(pod.metadata?.resourceVersion ?? "", /^\d+$/);
      assert.equal(pod.metadata?.generation, 1);
      assert.equal(pod.status?.phase, "Pending");
    });

    test("generateName gets a 5-character random suffix", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const cm = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { generateName: "gen-" } },
      });
      assert.match(cm.metadata?.name ?? "", /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    test("an existing name answers 409 AlreadyExists with a Status body", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "dup" } },
      });
      await assert.rejects(
        api.core.createNamespacedConfigMap({
          namespace,
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
      const api = backend();
      const namespace = await api.namespace();
      await assert.rejects(
        api.core.createNamespacedPod({
          namespace,
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
      const api = backend();
      const namespace = await api.namespace();
      await assert.rejects(
        api.core.createNamespacedConfigMap({
          namespace,
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
      const api = backend();
      const namespace = await api.namespace();
      await assert.rejects(
        api.core.createNamespacedConfigMap({
          namespace,
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
      const api = backend();
      await assert.rejects(
        api.core.createNamespacedConfigMap({
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
      const api = backend();
      const namespace = await api.namespace();
      await assert.rejects(
        api.core.readNamespacedPod({ namespace, name: "ghost" }),
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
      const api = backend();
      const namespace = await api.namespace();
      const cm = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "upd" }, data: { a: "1" } },
      });
      const updated = await api.core.replaceNamespacedConfigMap({
        namespace,
        name: "upd",
        body: { ...cm, data: { a: "2" } },
      });
      assert.equal(updated.data?.a, "2");
      assert.ok(Number(updated.metadata?.resourceVersion) > Number(cm.metadata?.resourceVersion));
      assert.equal(updated.metadata?.uid, cm.metadata?.uid);
    });

    test("a stale resourceVersion answers 409 Conflict", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const cm = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "stale" } },
      });
      await api.core.replaceNamespacedConfigMap({
        namespace,
        name: "stale",
        body: { ...cm, data: { x: "1" } },
      });
      await assert.rejects(
        api.core.replaceNamespacedConfigMap({
          namespace,
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
      const api = backend();
      const namespace = await api.namespace();
      const pod = await api.core.createNamespacedPod({
        namespace,
        body: podBody("immutable", { manual: true }),
      });
      const changed = structuredClone(pod);
      const [container] = changed.spec?.containers ?? [];
      assert.ok(container);
      container.image = "registry.example/compute:2.0";
      const updated = await api.core.replaceNamespacedPod({
        namespace,
        name: "immutable",
        body: changed,
      });
      assert.equal(updated.metadata?.generation, 2);
      const forbidden = {
        ...updated,
        spec: {
          ...updated.spec,
          containers: updated.spec?.containers ?? [],
          restartPolicy: "Never",
        },
      };
      await assert.rejects(
        api.core.replaceNamespacedPod({ namespace, name: "immutable", body: forbidden }),
        (error: { code: number }) => error.code === 422,
      );
    });

    test("an update of the main resource leaves the pod status alone; pods/status takes status and metadata, never the spec", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const pod = await api.core.createNamespacedPod({
        namespace,
        body: podBody("status-split", { manual: true }),
      });
      const withStatus = {
        ...pod,
        metadata: { ...pod.metadata, labels: { a: "b" } },
        status: { phase: "Failed" as const },
      };
      const updated = await api.core.replaceNamespacedPod({
        namespace,
        name: "status-split",
        body: withStatus,
      });
      assert.equal(updated.status?.phase, "Pending");
      assert.equal(updated.metadata?.labels?.a, "b");
      const statusUpdated = await api.core.replaceNamespacedPodStatus({
        namespace,
        name: "status-split",
        body: {
          ...updated,
          metadata: { ...updated.metadata, labels: { c: "d" } },
          spec: {
            ...updated.spec,
            containers: updated.spec?.containers ?? [],
            activeDeadlineSeconds: 60,
          },
          status: { ...updated.status, message: "hello" },
        },
      });
      assert.equal(statusUpdated.status?.message, "hello");
      assert.deepEqual(statusUpdated.metadata?.labels, { c: "d" });
      assert.equal(statusUpdated.spec?.activeDeadlineSeconds, undefined);
    });
  });

  describe("patch", () => {
    test("merge patch adds and removes keys", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "mp" }, data: { a: "1", b: "2" } },
      });
      const patched = await api.core.patchNamespacedConfigMap(
        { namespace, name: "mp", body: { data: { b: null, c: "3" } } },
        mergePatch,
      );
      assert.deepEqual(patched.data, { a: "1", c: "3" });
    });

    test("JSON patch applies operations, and a failed test operation answers 422", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "jp" }, data: { a: "1" } },
      });
      const patched = await api.core.patchNamespacedConfigMap(
        {
          namespace,
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
        api.core.patchNamespacedConfigMap(
          { namespace, name: "jp", body: [{ op: "test", path: "/data/a", value: "9" }] },
          jsonPatch,
        ),
        (error: { code: number }) => error.code === 422,
      );
    });

    test("strategic merge patch merges pod status conditions by type and finalizers as a set", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedPod({
        namespace,
        body: { ...podBody("smp"), metadata: { name: "smp", finalizers: ["a/one"] } },
      });
      await api.core.patchNamespacedPodStatus(
        {
          namespace,
          name: "smp",
          body: { status: { conditions: [{ type: "Custom", status: "True" }] } },
        },
        strategicPatch,
      );
      const patched = await api.core.patchNamespacedPodStatus(
        {
          namespace,
          name: "smp",
          body: { status: { conditions: [{ type: "Other", status: "False" }] } },
        },
        strategicPatch,
      );
      const types = (patched.status?.conditions ?? []).map((condition) => condition.type);
      assert.ok(types.includes("Custom") && types.includes("Other"), `conditions: ${types}`);
      const meta = await api.core.patchNamespacedPod(
        { namespace, name: "smp", body: { metadata: { finalizers: ["a/two"] } } },
        strategicPatch,
      );
      // The API server's strategic merge puts a finalizer sent alone in front (see patch.ts).
      assert.deepEqual(meta.metadata?.finalizers, ["a/two", "a/one"]);
      await api.core.patchNamespacedPod(
        { namespace, name: "smp", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
    });

    test("server-side apply: the real server applies it; the simulator answers 415 (known difference)", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "apply" } },
      });
      const response = await api.raw(
        "PATCH",
        `/api/v1/namespaces/${namespace}/configmaps/apply?fieldManager=conformance`,
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "apply" }, data: { a: "1" } },
        { "Content-Type": "application/apply-patch+yaml" },
      );
      if (api.name === "real") {
        assert.equal(response.status, 200, response.text);
        assert.deepEqual(response.json.data, { a: "1" });
        assert.ok(
          response.json.metadata.managedFields.some(
            (entry: { manager: string; operation: string }) =>
              entry.manager === "conformance" && entry.operation === "Apply",
          ),
        );
      } else {
        assert.equal(response.status, 415);
        assert.equal(response.json.reason, "UnsupportedMediaType");
      }
    });

    test("a patch content type that no server knows answers 415 UnsupportedMediaType", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "odd" } } });
      const response = await api.raw(
        "PATCH",
        `/api/v1/namespaces/${namespace}/configmaps/odd`,
        "{}",
        { "Content-Type": "application/x-unknown-patch" },
      );
      assert.equal(response.status, 415);
      assert.equal(response.json.reason, "UnsupportedMediaType");
    });

    test("a patch carrying a stale resourceVersion answers 409 Conflict", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const cm = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "pcas" } },
      });
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "pcas", body: { data: { a: "1" } } },
        mergePatch,
      );
      await assert.rejects(
        api.core.patchNamespacedConfigMap(
          {
            namespace,
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
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedPod({ namespace, body: podBody("graceful") });
      await waitFor(
        "Running",
        async () =>
          (await api.core.readNamespacedPod({ namespace, name: "graceful" })).status?.phase ===
          "Running",
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      const deleted = await api.core.deleteNamespacedPod({
        namespace,
        name: "graceful",
        gracePeriodSeconds: 1,
      });
      assert.ok(deleted.metadata?.deletionTimestamp instanceof Date);
      assert.equal(deleted.metadata?.deletionGracePeriodSeconds, 1);
      // How soon the pod goes after that is the kubelet's business (KWOK's is at once); the
      // simulator's kubelet waits for the grace period, as a kubelet whose containers ignore SIGTERM.
      if (api.sim)
        assert.ok(await found(api.core.readNamespacedPod({ namespace, name: "graceful" })));
      await waitFor(
        "removal after the grace period",
        async () => !(await found(api.core.readNamespacedPod({ namespace, name: "graceful" }))),
        { timeoutMs: REMOVAL_TIMEOUT_MS },
      );
    });

    test("an unscheduled pod is removed at once", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedPod({
        namespace,
        body: {
          ...podBody("unscheduled"),
          spec: { ...podBody("x").spec, nodeSelector: { nowhere: "true" } },
        },
      });
      const deleted = await api.core.deleteNamespacedPod({
        namespace,
        name: "unscheduled",
      });
      assert.equal(deleted.metadata?.name, "unscheduled");
      assert.equal(
        await found(api.core.readNamespacedPod({ namespace, name: "unscheduled" })),
        undefined,
      );
    });

    test("finalizers hold a deleted object until they are removed", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "held", finalizers: [HOLD] } },
      });
      const held = await api.raw("DELETE", `/api/v1/namespaces/${namespace}/configmaps/held`);
      assert.equal(held.status, 200);
      assert.ok(held.json.metadata.deletionTimestamp);
      assert.ok(await found(api.core.readNamespacedConfigMap({ namespace, name: "held" })));
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "held", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      assert.equal(
        await found(api.core.readNamespacedConfigMap({ namespace, name: "held" })),
        undefined,
      );
    });

    test("a deleted configmap answers a Success Status; a missing one 404", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const cm = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "gone" } },
      });
      const status = await api.core.deleteNamespacedConfigMap({ namespace, name: "gone" });
      assert.equal(status.status, "Success");
      assert.equal(status.details?.uid, cm.metadata?.uid);
      await assert.rejects(
        api.core.deleteNamespacedConfigMap({ namespace, name: "gone" }),
        (error: { code: number }) => error.code === 404,
      );
    });

    test("propagationPolicy Foreground adds the foregroundDeletion finalizer while dependents remain", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const owner = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "fg" } },
      });
      await api.core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name: "fg-child",
            finalizers: [HOLD],
            ownerReferences: [
              {
                apiVersion: "v1",
                kind: "ConfigMap",
                name: "fg",
                uid: owner.metadata?.uid as string,
                blockOwnerDeletion: true,
              },
            ],
          },
        },
      });
      const response = await api.raw("DELETE", `/api/v1/namespaces/${namespace}/configmaps/fg`, {
        propagationPolicy: "Foreground",
      });
      assert.deepEqual(response.json.metadata.finalizers, ["foregroundDeletion"]);
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "fg-child", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
    });

    test("a uid precondition that does not match answers 409", async () => {
      const api = backend();
      const namespace = await api.namespace();
      await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "precond" } },
      });
      await assert.rejects(
        api.core.deleteNamespacedConfigMap({
          namespace,
          name: "precond",
          body: { preconditions: { uid: "other" } },
        }),
        (error: { code: number }) => error.code === 409,
      );
    });
  });

  describe("subresources", () => {
    test("pods/eviction marks DisruptionTarget and deletes gracefully", async () => {
      const api = backend();
      const namespace = await api.namespace();
      // The finalizer keeps the evicted pod readable however fast the kubelet removes it.
      await api.core.createNamespacedPod({
        namespace,
        body: { ...podBody("evictee"), metadata: { name: "evictee", finalizers: [HOLD] } },
      });
      await waitFor(
        "Running",
        async () =>
          (await api.core.readNamespacedPod({ namespace, name: "evictee" })).status?.phase ===
          "Running",
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      await api.core.createNamespacedPodEviction({
        namespace,
        name: "evictee",
        body: {
          apiVersion: "policy/v1",
          kind: "Eviction",
          metadata: { name: "evictee", namespace },
        },
      });
      const pod = await api.core.readNamespacedPod({ namespace, name: "evictee" });
      assert.ok(pod.metadata?.deletionTimestamp);
      const disruption = pod.status?.conditions?.find(
        (condition) => condition.type === "DisruptionTarget",
      );
      assert.equal(disruption?.reason, "EvictionByEvictionAPI");
      await api.core.patchNamespacedPod(
        { namespace, name: "evictee", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
    });
  });

  describe("leases", () => {
    test("coordination.k8s.io leases support create, get, update with conflicts, and delete", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const lease = await api.coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: "leader" },
          spec: { holderIdentity: "a", leaseDurationSeconds: 15 },
        },
      });
      const renewed = await api.coordination.replaceNamespacedLease({
        namespace,
        name: "leader",
        body: { ...lease, spec: { ...lease.spec, holderIdentity: "b" } },
      });
      assert.equal(renewed.spec?.holderIdentity, "b");
      await assert.rejects(
        api.coordination.replaceNamespacedLease({
          namespace,
          name: "leader",
          body: { ...lease, spec: { holderIdentity: "c" } },
        }),
        (error: { code: number }) => error.code === 409,
      );
      const read = await api.coordination.readNamespacedLease({
        namespace,
        name: "leader",
      });
      assert.equal(read.spec?.holderIdentity, "b");
      await api.coordination.deleteNamespacedLease({ namespace, name: "leader" });
      assert.equal(
        await found(api.coordination.readNamespacedLease({ namespace, name: "leader" })),
        undefined,
      );
    });
  });

  describe("garbage collection", () => {
    const owned = (
      name: string,
      owner: { metadata?: { name?: string; uid?: string } },
      blockOwnerDeletion?: boolean,
    ) => ({
      metadata: {
        name,
        ownerReferences: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: owner.metadata?.name as string,
            uid: owner.metadata?.uid as string,
            ...(blockOwnerDeletion === undefined ? {} : { blockOwnerDeletion }),
          },
        ],
      },
    });

    test("dependents of a deleted owner are deleted in the background", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const owner = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "owner-bg" } },
      });
      await api.core.createNamespacedConfigMap({
        namespace,
        body: owned("dependent-bg", owner),
      });
      await api.core.deleteNamespacedConfigMap({ namespace, name: "owner-bg" });
      await waitFor(
        "the dependent to go",
        async () =>
          !(await found(api.core.readNamespacedConfigMap({ namespace, name: "dependent-bg" }))),
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
    });

    test("a Foreground delete keeps the owner until its blockOwnerDeletion dependents are gone", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const owner = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "owner-fg" } },
      });
      await api.core.createNamespacedConfigMap({
        namespace,
        body: {
          ...owned("dependent-fg", owner, true),
          metadata: { ...owned("dependent-fg", owner, true).metadata, finalizers: [HOLD] },
        },
      });
      await api.core.deleteNamespacedConfigMap({
        namespace,
        name: "owner-fg",
        propagationPolicy: "Foreground",
      });
      await waitFor(
        "the dependent to be deleted",
        async () =>
          (await found(api.core.readNamespacedConfigMap({ namespace, name: "dependent-fg" })))
            ?.metadata?.deletionTimestamp,
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
      assert.ok(
        await found(api.core.readNamespacedConfigMap({ namespace, name: "owner-fg" })),
        "the owner waits",
      );
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "dependent-fg", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      await waitFor(
        "the owner to go",
        async () =>
          !(await found(api.core.readNamespacedConfigMap({ namespace, name: "owner-fg" }))),
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
    });

    test("a Foreground delete does not wait for dependents that do not block it", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const owner = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "owner-nb" } },
      });
      await api.core.createNamespacedConfigMap({
        namespace,
        body: {
          ...owned("dependent-nb", owner),
          metadata: { ...owned("dependent-nb", owner).metadata, finalizers: [HOLD] },
        },
      });
      await api.core.deleteNamespacedConfigMap({
        namespace,
        name: "owner-nb",
        propagationPolicy: "Foreground",
      });
      await waitFor(
        "the owner to go",
        async () =>
          !(await found(api.core.readNamespacedConfigMap({ namespace, name: "owner-nb" }))),
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
      const dependent = await api.core.readNamespacedConfigMap({
        namespace,
        name: "dependent-nb",
      });
      assert.ok(dependent.metadata?.deletionTimestamp, "the dependent is deleted all the same");
      await api.core.patchNamespacedConfigMap(
        { namespace, name: "dependent-nb", body: { metadata: { finalizers: null } } },
        mergePatch,
      );
    });

    test("an Orphan delete removes the owner reference and keeps the dependent", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const owner = await api.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "owner-or" } },
      });
      await api.core.createNamespacedConfigMap({
        namespace,
        body: owned("dependent-or", owner),
      });
      await api.core.deleteNamespacedConfigMap({
        namespace,
        name: "owner-or",
        propagationPolicy: "Orphan",
      });
      await waitFor(
        "the owner to go",
        async () =>
          !(await found(api.core.readNamespacedConfigMap({ namespace, name: "owner-or" }))),
        { timeoutMs: CONTROLLER_TIMEOUT_MS },
      );
      const dependent = await found(
        api.core.readNamespacedConfigMap({ namespace, name: "dependent-or" }),
      );
      assert.ok(dependent);
      assert.equal(dependent.metadata?.ownerReferences, undefined);
    });
  });
});

// The simulator's own guarantees, which need its seed and its store.
describe("simulator only: generateName", () => {
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
});
