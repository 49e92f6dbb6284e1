// List semantics: resourceVersion, limit/continue with consistent pages and 410 for expired
// tokens, label selectors in their full grammar and field selectors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Env, podBody, raw, startEnv, waitFor } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await startEnv({ historyWindow: 30 });
  await env.core.createNamespace({ body: { metadata: { name: "list" } } });
  const labelSets: Record<string, string>[] = [
    { app: "web", tier: "gold" },
    { app: "web", tier: "silver" },
    { app: "db", tier: "gold", canary: "true" },
    { app: "cache" },
    {},
  ];
  for (const [index, labels] of labelSets.entries()) {
    await env.core.createNamespacedConfigMap({
      namespace: "list",
      body: { metadata: { name: `cm-${index}`, labels } },
    });
  }
});
after(() => env.sim.close());

const listNames = async (labelSelector?: string, fieldSelector?: string) =>
  (
    await env.core.listNamespacedConfigMap({ namespace: "list", labelSelector, fieldSelector })
  ).items
    .map((item) => item.metadata?.name)
    .sort();

describe("list", () => {
  test("carries the store's resourceVersion in metadata", async () => {
    const list = await env.core.listNamespacedConfigMap({ namespace: "list" });
    assert.equal(list.metadata?.resourceVersion, String(env.sim.store.resourceVersion));
    assert.equal(list.items.length, 5);
  });

  test("returns items sorted by namespace and name across namespaces", async () => {
    const list = await env.core.listConfigMapForAllNamespaces();
    const keys = list.items.map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`);
    assert.deepEqual(keys, [...keys].sort());
  });

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
    test(`label selector "${selector}"`, async () => {
      assert.deepEqual(await listNames(selector), expected);
    });
  }

  test("a malformed label selector answers 400", async () => {
    await assert.rejects(listNames("app in (web"), (error: { code: number }) => error.code === 400);
  });

  test("field selectors metadata.name and metadata.namespace, with = and !=", async () => {
    assert.deepEqual(await listNames(undefined, "metadata.name=cm-3"), ["cm-3"]);
    assert.deepEqual(await listNames(undefined, "metadata.name!=cm-3,metadata.namespace=list"), [
      "cm-0",
      "cm-1",
      "cm-2",
      "cm-4",
    ]);
  });

  test("pod field selectors spec.nodeName and status.phase", async () => {
    await env.core.createNamespacedPod({
      namespace: "list",
      body: { ...podBody("on-2"), spec: { ...podBody("x").spec, nodeName: "node-2" } },
    });
    await waitFor(async () => {
      const running = await env.core.listNamespacedPod({
        namespace: "list",
        fieldSelector: "status.phase=Running",
      });
      return running.items.length === 1;
    }, "the pod to run");
    const onNode = await env.core.listPodForAllNamespaces({
      fieldSelector: "spec.nodeName=node-2",
    });
    assert.deepEqual(
      onNode.items.map((pod) => pod.metadata?.name),
      ["on-2"],
    );
    const pending = await env.core.listNamespacedPod({
      namespace: "list",
      fieldSelector: "status.phase=Pending",
    });
    assert.equal(pending.items.length, 0);
  });

  test("an unsupported field selector answers 400 naming the field", async () => {
    await assert.rejects(
      env.core.listNamespacedPod({ namespace: "list", fieldSelector: "spec.hostname=x" }),
      (error: { code: number; body: string }) =>
        error.code === 400 &&
        JSON.parse(error.body).message === "field label not supported: spec.hostname",
    );
  });
});

describe("pagination", () => {
  test("limit and continue page through a consistent snapshot", async () => {
    const first = await env.core.listNamespacedConfigMap({ namespace: "list", limit: 2 });
    assert.deepEqual(
      first.items.map((item) => item.metadata?.name),
      ["cm-0", "cm-1"],
    );
    assert.ok(first.metadata?._continue);
    assert.equal(first.metadata?.remainingItemCount, 3);
    // Changes after the first page do not show in later pages.
    await env.core.createNamespacedConfigMap({
      namespace: "list",
      body: { metadata: { name: "cm-00-new" } },
    });
    await env.core.deleteNamespacedConfigMap({ namespace: "list", name: "cm-3" });
    const second = await env.core.listNamespacedConfigMap({
      namespace: "list",
      limit: 2,
      _continue: first.metadata?._continue,
    });
    assert.deepEqual(
      second.items.map((item) => item.metadata?.name),
      ["cm-2", "cm-3"],
    );
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    const third = await env.core.listNamespacedConfigMap({
      namespace: "list",
      limit: 2,
      _continue: second.metadata?._continue,
    });
    assert.deepEqual(
      third.items.map((item) => item.metadata?.name),
      ["cm-4"],
    );
    assert.equal(third.metadata?._continue, undefined);
    await env.core.deleteNamespacedConfigMap({ namespace: "list", name: "cm-00-new" });
    await env.core.createNamespacedConfigMap({
      namespace: "list",
      body: { metadata: { name: "cm-3", labels: { app: "cache" } } },
    });
  });

  test("a continue token older than the history answers 410 Expired", async () => {
    const first = await env.core.listNamespacedConfigMap({ namespace: "list", limit: 1 });
    for (let i = 0; i < 40; i++) {
      await env.core.createNamespacedConfigMap({
        namespace: "list",
        body: { metadata: { name: `churn-${i}` } },
      });
      await env.core.deleteNamespacedConfigMap({ namespace: "list", name: `churn-${i}` });
    }
    await assert.rejects(
      env.core.listNamespacedConfigMap({
        namespace: "list",
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
  });

  test("a malformed continue token answers 400", async () => {
    const response = await raw(
      env.sim,
      "GET",
      "/api/v1/namespaces/list/configmaps?limit=1&continue=bm90LWEtdG9rZW4",
    );
    assert.equal(response.status, 400);
  });

  test("resourceVersionMatch=Exact lists the state at that resourceVersion", async () => {
    const before = await env.core.listNamespacedConfigMap({ namespace: "list" });
    await env.core.createNamespacedConfigMap({
      namespace: "list",
      body: { metadata: { name: "later" } },
    });
    const exact = await env.core.listNamespacedConfigMap({
      namespace: "list",
      resourceVersion: before.metadata?.resourceVersion,
      resourceVersionMatch: "Exact",
    });
    assert.equal(exact.items.length, before.items.length);
    await env.core.deleteNamespacedConfigMap({ namespace: "list", name: "later" });
  });
});
