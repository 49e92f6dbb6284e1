// Watch semantics through client-node's Watch, on the simulator and on the real API server:
// initial state, resume from a resourceVersion, 410 Expired, bookmarks, timeouts and selectors
// applied to events. Every test watches a namespace of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeOnBackends } from "./backends.ts";
import {
  CONTROLLER_TIMEOUT_MS,
  collect,
  mergePatch,
  POD_RUNNING_TIMEOUT_MS,
  podBody,
  ROOT_CA_CONFIGMAP,
} from "./helpers.ts";

/** The simulator keeps this many events per resource, so a short churn outlives its history. */
const HISTORY_WINDOW = 50;
/** Patches that push the first resourceVersion out of the simulator's history. */
const CHURN = HISTORY_WINDOW + 10;
/**
 * The real API server sends a bookmark shortly before a watch's timeout (and about once a
 * minute otherwise); a watch this long is sure to see one on both backends.
 */
const BOOKMARK_WATCH_SECONDS = 5;
/** How long a test listens to be sure nothing more arrives. */
const QUIET_MS = 300;

/** "TYPE name" of each event, leaving out the real server's kube-root-ca.crt (see helpers). */
const names = (events: { type: string; object: { metadata?: { name?: string } } }[]) =>
  mine(events).map((event) => `${event.type} ${event.object.metadata?.name}`);
const mine = <T extends { object: { metadata?: { name?: string } } }>(events: T[]) =>
  events.filter((event) => event.object.metadata?.name !== ROOT_CA_CONFIGMAP);
const path = (namespace: string, resource = "configmaps") =>
  `/api/v1/namespaces/${namespace}/${resource}`;
const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));

describeOnBackends(
  "watch",
  { simulator: { bookmarkIntervalMs: 100, historyWindow: HISTORY_WINDOW } },
  (backend) => {
    test("a watch without resourceVersion sends ADDED for existing objects, then live events", async () => {
      const { core, kc, namespace: fresh } = backend();
      const namespace = await fresh();
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "pre-1" } } });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "pre-2" } } });
      const watch = await collect(kc, path(namespace));
      await watch.until("the initial events", (events) => mine(events).length === 2);
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "live" } } });
      await core.deleteNamespacedConfigMap({ namespace, name: "pre-1" });
      await watch.until("the live events", (events) => mine(events).length === 4);
      watch.stop();
      assert.deepEqual(names(watch.events).slice(0, 2).sort(), ["ADDED pre-1", "ADDED pre-2"]);
      assert.deepEqual(names(watch.events).slice(2), ["ADDED live", "DELETED pre-1"]);
    });

    test("a watch from resourceVersion N replays every change after N, in order", async () => {
      const { core, kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const first = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "r1" } },
      });
      await core.patchNamespacedConfigMap(
        { namespace, name: "r1", body: { data: { a: "1" } } },
        mergePatch,
      );
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "r2" } } });
      await core.deleteNamespacedConfigMap({ namespace, name: "r1" });
      const watch = await collect(kc, path(namespace), {
        resourceVersion: first.metadata?.resourceVersion as string,
      });
      await watch.until("the replay", (events) => mine(events).length === 3);
      watch.stop();
      assert.deepEqual(names(watch.events), ["MODIFIED r1", "ADDED r2", "DELETED r1"]);
      const versions = watch.events.map((event) => Number(event.object.metadata?.resourceVersion));
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        versions,
        "in resourceVersion order",
      );
    });

    test("a resourceVersion older than the server keeps gets ERROR 410 Expired; the real server keeps more (known difference)", async () => {
      const { core, kc, namespace: fresh, sim } = backend();
      const namespace = await fresh();
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "old" } } });
      for (let i = 0; i < CHURN; i++) {
        await core.patchNamespacedConfigMap(
          { namespace, name: "old", body: { data: { i: String(i) } } },
          mergePatch,
        );
      }
      // "1" is older than the simulator's window after the churn. The real server keeps every
      // revision since etcd's last compaction (every 5 minutes): before the first one it replays
      // them all (a scan of etcd from its first revision: slow on a busy cluster), after it
      // answers as the simulator does.
      const watch = await collect(kc, path(namespace), { resourceVersion: "1" });
      const first = await watch.until("the first event", (events) => events.length > 0, {
        timeoutMs: CONTROLLER_TIMEOUT_MS,
      });
      if (!sim && first[0]?.type !== "ERROR") {
        await watch.until("the replay from etcd", (events) => mine(events).length === CHURN + 1, {
          timeoutMs: CONTROLLER_TIMEOUT_MS,
        });
        watch.stop();
        assert.deepEqual(names(watch.events).slice(0, 2), ["ADDED old", "MODIFIED old"]);
        return;
      }
      const error = await watch.done;
      assert.equal(error, null, "a clean end of stream after the ERROR event");
      assert.equal(watch.events.length, 1);
      const [event] = watch.events;
      assert.equal(event?.type, "ERROR");
      assert.equal(event?.object.kind, "Status");
      assert.equal(event?.object.code, 410);
      assert.equal(event?.object.reason, "Expired");
      // The watch cache's wording; etcd's own, where the real server asks it, differs.
      assert.match(
        String(event?.object.message),
        sim ? /^too old resource version: 1 \(\d+\)$/ : /too old/,
      );
    });

    test("allowWatchBookmarks brings BOOKMARK events carrying a current resourceVersion", async () => {
      const { core, kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const latest = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "marked" } },
      });
      const watch = await collect(kc, path(namespace), {
        allowWatchBookmarks: true,
        timeoutSeconds: BOOKMARK_WATCH_SECONDS,
      });
      await watch.until(
        "a bookmark",
        (events) => events.some((event) => event.type === "BOOKMARK"),
        { timeoutMs: (BOOKMARK_WATCH_SECONDS + 5) * 1000 },
      );
      watch.stop();
      const bookmark = watch.events.find((event) => event.type === "BOOKMARK");
      assert.equal(bookmark?.object.kind, "ConfigMap");
      assert.ok(
        Number(bookmark?.object.metadata?.resourceVersion) >=
          Number(latest.metadata?.resourceVersion),
        "not older than what the client has seen",
      );
    });

    test("without allowWatchBookmarks no BOOKMARK is sent", async () => {
      const { kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const watch = await collect(kc, path(namespace));
      await quiet();
      watch.stop();
      assert.equal(watch.events.filter((event) => event.type === "BOOKMARK").length, 0);
    });

    test("sendInitialEvents ends the initial ADDED events with a k8s.io/initial-events-end bookmark", async () => {
      const { core, kc, namespace: fresh } = backend();
      const namespace = await fresh();
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "initial" } } });
      const watch = await collect(kc, path(namespace), {
        sendInitialEvents: true,
        resourceVersionMatch: "NotOlderThan",
        allowWatchBookmarks: true,
      });
      await watch.until("the end-of-initial bookmark", (events) =>
        events.some((event) => event.type === "BOOKMARK"),
      );
      watch.stop();
      const bookmark = watch.events.findIndex((event) => event.type === "BOOKMARK");
      assert.deepEqual(names(watch.events.slice(0, bookmark)), ["ADDED initial"]);
      assert.equal(
        watch.events[bookmark]?.object.metadata?.annotations?.["k8s.io/initial-events-end"],
        "true",
      );
    });

    test("timeoutSeconds ends the watch cleanly, not before it", async () => {
      const { kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const started = Date.now();
      const watch = await collect(kc, path(namespace), { timeoutSeconds: 1 });
      assert.equal(await watch.done, null);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900, `ended after ${elapsed} ms`);
    });

    test("with a label selector, an object that stops matching is DELETED and one that starts matching is ADDED", async () => {
      const { core, kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const watch = await collect(kc, path(namespace), { labelSelector: "tier=gold" });
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: "sel", labels: { tier: "silver" } } },
      });
      for (const body of [
        { metadata: { labels: { tier: "gold" } } },
        { data: { a: "1" } },
        { metadata: { labels: { tier: "bronze" } } },
      ]) {
        await core.patchNamespacedConfigMap({ namespace, name: "sel", body }, mergePatch);
      }
      await core.deleteNamespacedConfigMap({ namespace, name: "sel" });
      await watch.until("three events", (events) => events.length >= 3);
      await quiet();
      watch.stop();
      assert.deepEqual(names(watch.events), ["ADDED sel", "MODIFIED sel", "DELETED sel"]);
      const deleted = watch.events[2]?.object as { metadata: { labels: Record<string, string> } };
      assert.equal(
        deleted.metadata.labels.tier,
        "gold",
        "the DELETED event carries the last matching state",
      );
    });

    test("a field selector applies to watch events (spec.nodeName)", async () => {
      const api = backend();
      const namespace = await api.namespace();
      const [chosen, other] = [
        await api.addNode({ name: `${namespace}-chosen` }),
        await api.addNode({ name: `${namespace}-other` }),
      ];
      const watch = await collect(api.kc, "/api/v1/pods", {
        fieldSelector: `spec.nodeName=${chosen}`,
      });
      for (const [name, nodeName] of [
        ["pinned", chosen],
        ["elsewhere", other],
      ] as const) {
        await api.core.createNamespacedPod({
          namespace,
          body: { ...podBody(name), spec: { ...podBody(name).spec, nodeName } },
        });
      }
      await watch.until(
        "pinned running",
        (events) =>
          events.some((event) => (event.object.status as { phase?: string })?.phase === "Running"),
        { timeoutMs: POD_RUNNING_TIMEOUT_MS },
      );
      watch.stop();
      assert.ok(watch.events.every((event) => event.object.metadata?.name === "pinned"));
    });

    test("a watch on one namespace sees nothing of another", async () => {
      const { core, kc, namespace: fresh } = backend();
      const [watched, other] = [await fresh(), await fresh()];
      const watch = await collect(kc, path(watched));
      await core.createNamespacedConfigMap({
        namespace: other,
        body: { metadata: { name: "elsewhere" } },
      });
      await core.createNamespacedConfigMap({
        namespace: watched,
        body: { metadata: { name: "here" } },
      });
      await watch.until("the event of the watched namespace", (events) => mine(events).length >= 1);
      await quiet();
      watch.stop();
      assert.deepEqual(names(watch.events), ["ADDED here"]);
    });

    test("an invalid label selector on a watch answers 400 before streaming", async () => {
      const { kc, namespace: fresh } = backend();
      const namespace = await fresh();
      const watch = await collect(kc, path(namespace), { labelSelector: "a in (" });
      const error = (await watch.done) as { statusCode?: number };
      assert.equal(error?.statusCode, 400);
    });
  },
);
