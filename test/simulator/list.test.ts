// List semantics, on the simulator and on the real API server: resourceVersion, limit/continue
// with consistent pages, label selectors in their full grammar and field selectors. Every test
// lists a namespace of its own, filled with the same five labelled configmaps.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CoreV1Api } from "@kubernetes/client-node";
import { waitFor } from "../tools/wait-for.ts";
import type { Backend } from "./backend.ts";
import { describeOnBackends } from "./backends.ts";
import {
  type Env,
  POD_RUNNING_TIMEOUT_MS,
  podBody,
  ROOT_CA_CONFIGMAP,
  startEnv,
  withoutRootCA,
} from "./helpers.ts";

const LABEL_SETS: Record<string, string>[] = [
  { app: "web", tier: "gold" },
  { app: "web", tier: "silver" },
  { app: "db", tier: "gold", canary: "true" },
  { app: "cache" },
  {},
];

/** A fresh namespace holding cm-0 … cm-4, labelled as LABEL_SETS says. */
async function filled(api: { core: CoreV1Api; namespace: Backend["namespace"] }) {
  const namespace = await api.namespace("list");
  for (const [index, labels] of LABEL_SETS.entries()) {
    await api.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: `cm-${index}`, labels } },
    });
  }
  return namespace;
}

const listNames = async (
  core: CoreV1Api,
  namespace: string,
  labelSelector?: string,
  fieldSelector?: string,
) =>
  withoutRootCA(
    (await core.listNamespacedConfigMap({ namespace, labelSelector, fieldSelector })).items.map(
      (item) => item.metadata?.name,
    ),
  ).sort();

describeOnBackends("list", {}, (backend) => {
  test("carries a resourceVersion not older than any item's", async () => {
    const api = backend();
    const namespace = await filled(api);
    const list = await api.core.listNamespacedConfigMap({ namespace });
    assert.equal(withoutRootCA(list.items.map((item) => item.metadata?.name)).length, 5);
    const newest = Math.max(...list.items.map((item) => Number(item.metadata?.resourceVersion)));
    assert.match(list.metadata?.resourceVersion ?? "", /^\d+$/);
    assert.ok(Number(list.metadata?.resourceVersion) >= newest);
    if (api.sim)
      assert.equal(list.metadata?.resourceVersion, String(api.sim.store.resourceVersion));
  });

  test("returns items sorted by namespace and name across namespaces", async () => {
    const api = backend();
    await filled(api);
    await filled(api);
    const list = await api.core.listConfigMapForAllNamespaces();
    const keys = list.items.map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`);
    assert.deepEqual(keys, [...keys].sort());
  });

  test("label selectors in the full grammar", async () => {
    const api = backend();
    const namespace = await filled(api);
    for (const [selector, expected] of [
      ["app=web", ["cm-0", "cm-1"]],
      ["app==web", ["cm-0", "cm-1"]],
      ["app!=web", ["cm-2", "cm-3", "cm-4"]],
      ["tier in (gold,silver)", ["cm-0", "cm-1", "cm-2"]],
      ["tier notin (gold)", ["cm-1", "cm-3", "cm-4"]],
      ["canary", ["cm-2"]],
      ["!tier", ["cm-3", "cm-4"]],
      ["app=web,tier=gold", ["cm-0"]],
      ["app in (web,db),!canary", ["cm-0", "cm-1"]],
    ] as const) {
      assert.deepEqual(await listNames(api.core, namespace, selector), expected, selector);
    }
  });

  test("a malformed label selector answers 400", async () => {
    const api = backend();
    const namespace = await api.namespace();
    await assert.rejects(
      listNames(api.core, namespace, "app in (web"),
      (error: { code: number }) => error.code === 400,
    );
  });

  test("field selectors metadata.name and metadata.namespace, with = and !=", async () => {
    const api = backend();
    const namespace = await filled(api);
    assert.deepEqual(await listNames(api.core, namespace, undefined, "metadata.name=cm-3"), [
      "cm-3",
    ]);
    assert.deepEqual(
      await listNames(
        api.core,
        namespace,
        undefined,
        `metadata.name!=cm-3,metadata.namespace=${namespace}`,
      ),
      ["cm-0", "cm-1", "cm-2", "cm-4"],
    );
  });

  test("pod field selectors spec.nodeName and status.phase", async () => {
    const api = backend();
    const namespace = await api.namespace();
    const node = await api.addNode({ name: `${namespace}-node` });
    await api.core.createNamespacedPod({
      namespace,
      body: { ...podBody("pinned"), spec: { ...podBody("pinned").spec, nodeName: node } },
    });
    await waitFor(
      "the pod to run",
      async () =>
        (await api.core.listNamespacedPod({ namespace, fieldSelector: "status.phase=Running" }))
          .items.length === 1,
      { timeoutMs: POD_RUNNING_TIMEOUT_MS },
    );
    const onNode = await api.core.listPodForAllNamespaces({
      fieldSelector: `spec.nodeName=${node}`,
    });
    assert.deepEqual(
      onNode.items.map((pod) => pod.metadata?.name),
      ["pinned"],
    );
    const pending = await api.core.listNamespacedPod({
      namespace,
      fieldSelector: "status.phase=Pending",
    });
    assert.equal(pending.items.length, 0);
  });

  test("an unsupported field selector answers 400 naming the field", async () => {
    const api = backend();
    const namespace = await api.namespace();
    await assert.rejects(
      api.core.listNamespacedPod({ namespace, fieldSelector: "spec.hostname=x" }),
      (error: { code: number; body: string }) =>
        error.code === 400 &&
        JSON.parse(error.body).message === "field label not supported: spec.hostname",
    );
  });

  test("a new namespace holds kube-root-ca.crt on the real server; the simulator publishes none (known difference)", async () => {
    const api = backend();
    const namespace = await api.namespace();
    const names = (await api.core.listNamespacedConfigMap({ namespace })).items.map(
      (item) => item.metadata?.name,
    );
    assert.deepEqual(names, api.sim ? [] : [ROOT_CA_CONFIGMAP]);
  });

  test("limit and continue page through a consistent snapshot", async () => {
    const api = backend();
    const namespace = await filled(api);
    // kube-root-ca.crt, where the server publishes it, sorts after cm-*: one more on the last page.
    const published = api.sim ? [] : [ROOT_CA_CONFIGMAP];
    const page = (token?: string) =>
      api.core.listNamespacedConfigMap({ namespace, limit: 2, _continue: token });
    const first = await page();
    assert.deepEqual(
      first.items.map((item) => item.metadata?.name),
      ["cm-0", "cm-1"],
    );
    assert.ok(first.metadata?._continue);
    assert.equal(first.metadata?.remainingItemCount, 3 + published.length);
    // Changes after the first page do not show in later pages.
    await api.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "cm-00-new" } },
    });
    await api.core.deleteNamespacedConfigMap({ namespace, name: "cm-3" });
    const second = await page(first.metadata?._continue);
    assert.deepEqual(
      second.items.map((item) => item.metadata?.name),
      ["cm-2", "cm-3"],
    );
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    const third = await page(second.metadata?._continue);
    assert.deepEqual(
      third.items.map((item) => item.metadata?.name),
      ["cm-4", ...published].slice(0, 2),
    );
    assert.equal(third.metadata?._continue, undefined);
  });

  test("a malformed continue token answers 400", async () => {
    const api = backend();
    const namespace = await api.namespace();
    const response = await api.raw(
      "GET",
      `/api/v1/namespaces/${namespace}/configmaps?limit=1&continue=bm90LWEtdG9rZW4`,
    );
    assert.equal(response.status, 400);
  });

  test("resourceVersionMatch=Exact lists the state at that resourceVersion", async () => {
    const api = backend();
    const namespace = await filled(api);
    const before = await api.core.listNamespacedConfigMap({ namespace });
    await api.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "later" } } });
    const exact = await api.core.listNamespacedConfigMap({
      namespace,
      resourceVersion: before.metadata?.resourceVersion,
      resourceVersionMatch: "Exact",
    });
    assert.equal(exact.items.length, before.items.length);
  });
});

// The real API server expires continue tokens only when etcd is compacted (every five minutes by
// default), which a test cannot wait for: the simulator's expiry is checked on its own.
describe("simulator only: expired continue tokens", () => {
  test("a continue token older than the history answers 410 Expired", async () => {
    const env: Env = await startEnv({ historyWindow: 30 });
    try {
      for (let index = 0; index < 3; index++) {
        await env.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: `cm-${index}` } },
        });
      }
      const first = await env.core.listNamespacedConfigMap({ namespace: "default", limit: 1 });
      for (let i = 0; i < 40; i++) {
        await env.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: `churn-${i}` } },
        });
        await env.core.deleteNamespacedConfigMap({ namespace: "default", name: `churn-${i}` });
      }
      await assert.rejects(
        env.core.listNamespacedConfigMap({
          namespace: "default",
          limit: 1,
          _continue: first.metadata?._continue,
        }),
        (error: { code: number; body: string }) => {
          const status = JSON.parse(error.body);
          assert.equal(error.code, 410);
          assert.equal(status.reason, "Expired");
          assert.match(status.message, /continue parameter is too old/);
          return true;
        },
      );
    } finally {
      await env.sim.close();
    }
  });
});
