// Watch semantics through client-node's Watch: initial state, resume from a resourceVersion,
// 410 Expired, bookmarks, timeouts and selectors applied to events.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { collect, type Env, mergePatch, startEnv } from "./helpers.ts";

let env: Env;
before(async () => {
  env = await startEnv({ bookmarkIntervalMs: 100, historyWindow: 50 });
  await env.core.createNamespace({ body: { metadata: { name: "watch" } } });
});
after(() => env.sim.close());

const names = (events: { type: string; object: { metadata?: { name?: string } } }[]) =>
  events.map((event) => `${event.type} ${event.object.metadata?.name}`);

test("a watch without resourceVersion sends ADDED for existing objects, then live events", async () => {
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "pre-1" } },
  });
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "pre-2" } },
  });
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps");
  await watch.until((events) => events.length === 2, "the initial events");
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "live" } },
  });
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "pre-1" });
  await watch.until((events) => events.length === 4, "the live events");
  watch.stop();
  assert.deepEqual(names(watch.events).slice(0, 2).sort(), ["ADDED pre-1", "ADDED pre-2"]);
  assert.deepEqual(names(watch.events).slice(2), ["ADDED live", "DELETED pre-1"]);
  for (const name of ["pre-1", "pre-2", "live"]) {
    await env.core.deleteNamespacedConfigMap({ namespace: "watch", name }).catch(() => {});
  }
});

test("a watch from resourceVersion N replays every change after N", async () => {
  const first = await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "r1" } },
  });
  await env.core.patchNamespacedConfigMap(
    { namespace: "watch", name: "r1", body: { data: { a: "1" } } },
    mergePatch,
  );
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "r2" } },
  });
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "r1" });
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    resourceVersion: first.metadata?.resourceVersion as string,
  });
  await watch.until((events) => events.length === 3, "the replay");
  watch.stop();
  assert.deepEqual(names(watch.events), ["MODIFIED r1", "ADDED r2", "DELETED r1"]);
  const versions = watch.events.map((event) => Number(event.object.metadata?.resourceVersion));
  assert.deepEqual(
    [...versions].sort((a, b) => a - b),
    versions,
    "in resourceVersion order",
  );
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "r2" });
});

test("a resourceVersion older than the history window gets one ERROR 410 Expired event, then the stream ends", async () => {
  const old = await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "old" } },
  });
  for (let i = 0; i < 60; i++) {
    await env.core.patchNamespacedConfigMap(
      { namespace: "watch", name: "old", body: { data: { i: String(i) } } },
      mergePatch,
    );
  }
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    resourceVersion: old.metadata?.resourceVersion as string,
  });
  const error = await watch.done;
  assert.equal(error, null, "a clean end of stream after the ERROR event");
  assert.equal(watch.events.length, 1);
  const [event] = watch.events;
  assert.equal(event?.type, "ERROR");
  assert.equal(event?.object.kind, "Status");
  assert.equal(event?.object.code, 410);
  assert.equal(event?.object.reason, "Expired");
  assert.match(String(event?.object.message), /^too old resource version: \d+ \(\d+\)$/);
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "old" });
});

test("allowWatchBookmarks brings periodic BOOKMARK events carrying the current resourceVersion", async () => {
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    allowWatchBookmarks: true,
  });
  await watch.until(
    (events) => events.some((event) => event.type === "BOOKMARK"),
    "a bookmark",
    2000,
  );
  watch.stop();
  const bookmark = watch.events.find((event) => event.type === "BOOKMARK");
  assert.equal(bookmark?.object.kind, "ConfigMap");
  assert.equal(bookmark?.object.metadata?.resourceVersion, String(env.sim.store.resourceVersion));
});

test("without allowWatchBookmarks no BOOKMARK is sent", async () => {
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps");
  await new Promise((resolve) => setTimeout(resolve, 300));
  watch.stop();
  assert.equal(watch.events.filter((event) => event.type === "BOOKMARK").length, 0);
});

test("sendInitialEvents ends the initial ADDED events with a k8s.io/initial-events-end bookmark", async () => {
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "initial" } },
  });
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    sendInitialEvents: true,
    resourceVersionMatch: "NotOlderThan",
    allowWatchBookmarks: true,
  });
  await watch.until(
    (events) => events.some((event) => event.type === "BOOKMARK"),
    "the end-of-initial bookmark",
  );
  watch.stop();
  assert.deepEqual(names(watch.events)[0], "ADDED initial");
  assert.equal(
    watch.events[1]?.object.metadata?.annotations?.["k8s.io/initial-events-end"],
    "true",
  );
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "initial" });
});

test("timeoutSeconds ends the watch cleanly", async () => {
  const started = Date.now();
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", { timeoutSeconds: 1 });
  assert.equal(await watch.done, null);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 3000, `ended after ${elapsed} ms`);
});

test("with a label selector, an object that stops matching is DELETED and one that starts matching is ADDED", async () => {
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    labelSelector: "tier=gold",
  });
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "sel", labels: { tier: "silver" } } },
  });
  await env.core.patchNamespacedConfigMap(
    { namespace: "watch", name: "sel", body: { metadata: { labels: { tier: "gold" } } } },
    mergePatch,
  );
  await env.core.patchNamespacedConfigMap(
    { namespace: "watch", name: "sel", body: { data: { a: "1" } } },
    mergePatch,
  );
  await env.core.patchNamespacedConfigMap(
    { namespace: "watch", name: "sel", body: { metadata: { labels: { tier: "bronze" } } } },
    mergePatch,
  );
  await env.core.deleteNamespacedConfigMap({ namespace: "watch", name: "sel" });
  await watch.until((events) => events.length >= 3, "three events");
  await new Promise((resolve) => setTimeout(resolve, 50));
  watch.stop();
  assert.deepEqual(names(watch.events), ["ADDED sel", "MODIFIED sel", "DELETED sel"]);
  const deleted = watch.events[2]?.object as {
    metadata: { labels: Record<string, string>; resourceVersion: string };
  };
  assert.equal(
    deleted.metadata.labels.tier,
    "gold",
    "the DELETED event carries the last matching state",
  );
});

test("a field selector applies to watch events (spec.nodeName)", async () => {
  const watch = await collect(env.kc, "/api/v1/pods", { fieldSelector: "spec.nodeName=node-2" });
  await env.core.createNamespacedPod({
    namespace: "watch",
    body: {
      metadata: { name: "pinned" },
      spec: { nodeName: "node-2", containers: [{ name: "c", image: "i:1" }] },
    },
  });
  await env.core.createNamespacedPod({
    namespace: "watch",
    body: {
      metadata: { name: "elsewhere" },
      spec: { nodeName: "node-1", containers: [{ name: "c", image: "i:1" }] },
    },
  });
  await watch.until(
    (events) =>
      events.some(
        (event) =>
          event.object.status && (event.object.status as { phase?: string }).phase === "Running",
      ),
    "pinned running",
  );
  watch.stop();
  assert.ok(watch.events.every((event) => event.object.metadata?.name === "pinned"));
});

test("a watch on one namespace sees nothing of another", async () => {
  const watch = await collect(env.kc, "/api/v1/namespaces/kube-public/configmaps");
  await env.core.createNamespacedConfigMap({
    namespace: "watch",
    body: { metadata: { name: "elsewhere" } },
  });
  await env.core.createNamespacedConfigMap({
    namespace: "kube-public",
    body: { metadata: { name: "here" } },
  });
  await watch.until((events) => events.length >= 1, "the event of kube-public");
  await new Promise((resolve) => setTimeout(resolve, 50));
  watch.stop();
  assert.deepEqual(names(watch.events), ["ADDED here"]);
});

test("an invalid label selector on a watch answers 400 before streaming", async () => {
  const watch = await collect(env.kc, "/api/v1/namespaces/watch/configmaps", {
    labelSelector: "a in (",
  });
  const error = (await watch.done) as { statusCode?: number };
  assert.equal(error?.statusCode, 400);
});
