import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  type CacheEvent,
  createListWatchCache,
  type ListWatchCacheOptions,
  type ListWatchSource,
} from "../../../sidecar/kube/list-watch.ts";
import { namespacedConfigMaps, namespacedPods } from "../../../sidecar/kube/list-watch-sources.ts";
import { projectPod } from "../../../sidecar/kube/pod-view.ts";
import {
  LABEL_INSTANCE,
  type PodView,
  type RequestRecord,
} from "../../../sidecar/provider/model.ts";
import {
  type ConfigMapLike,
  parseRecord,
  recordConfigMap,
} from "../../../sidecar/provider/records.ts";
import type { Pod } from "../../../sidecar/simulator/index.ts";
import { waitFor } from "../../tools/wait-for.ts";
import { type Harness, NAMESPACE, podBody, startSimulator } from "./_simulator.ts";

const MINE = { [LABEL_INSTANCE]: "test" };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: Parameters<typeof startSimulator>[0] = {}): Promise<Harness> {
  const h = await startSimulator({ podStartDelayMs: 20, podStartJitterMs: 0, ...options });
  cleanups.push(() => h.sim.close());
  return h;
}

function podCache(h: Harness, overrides: Partial<ListWatchCacheOptions<PodView>> = {}) {
  const cache = createListWatchCache<PodView>({
    kubeConfig: h.kubeConfig,
    source: namespacedPods(h.core, NAMESPACE),
    project: projectPod,
    key: (pod) => pod.name,
    labelSelector: `${LABEL_INSTANCE}=test`,
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...overrides,
  });
  const events: CacheEvent<PodView>[] = [];
  cache.subscribe((event) => events.push(event));
  cleanups.push(() => cache.stop());
  return { cache, events };
}

const createPod = (h: Harness, name: string, labels: Record<string, string> = MINE) =>
  h.core.createNamespacedPod({ namespace: NAMESPACE, body: podBody(name, labels) });
const deletePod = (h: Harness, name: string) =>
  h.core.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 });

describe("createListWatchCache", () => {
  it("lists in pages, honours the label selector and reports synced", async () => {
    const h = await harness({ nodes: [] });
    for (let i = 0; i < 25; i++) await createPod(h, `mine-${i}`);
    for (let i = 0; i < 3; i++) await createPod(h, `other-${i}`, { [LABEL_INSTANCE]: "other" });
    const { cache, events } = podCache(h, { pageSize: 10 });
    const listsBefore = h.sim.counters.get("list", "pods");

    await cache.start();

    assert.equal(cache.synced, true);
    assert.equal(cache.size, 25);
    assert.equal(h.sim.counters.get("list", "pods") - listsBefore, 3);
    assert.ok(cache.get("mine-7"));
    assert.equal(cache.get("other-0"), undefined);
    assert.equal(events.filter((e) => e.type === "ADDED").length, 25);
    assert.notEqual(cache.resourceVersion, "");
    assert.equal(cache.stats.lists, 1);
  });

  it("a cache stopped while its first list lands opens no watch and stops at once", {
    timeout: 30_000,
  }, async () => {
    const h = await harness({ nodes: [] });
    await createPod(h, "mine-0");
    const { cache } = podCache(h);
    let stopped: Promise<void> | undefined;
    cache.subscribe(() => {
      stopped ??= cache.stop();
    });

    await assert.rejects(cache.start(), /stopped before its first list/);
    await stopped;

    assert.equal(h.sim.counters.get("watch", "pods"), 0);
  });

  it("delivers ADDED, MODIFIED and DELETED from the watch, and nothing for other labels", async () => {
    const h = await harness();
    const { cache, events } = podCache(h);
    await cache.start();

    await createPod(h, "worker-a");
    await createPod(h, "not-mine", { [LABEL_INSTANCE]: "other" });
    await waitFor("worker-a runs", () => cache.get("worker-a")?.phase === "Running");
    const running = cache.get("worker-a");
    assert.ok(running?.podIP);
    await deletePod(h, "worker-a");
    await waitFor("worker-a is gone", () => cache.get("worker-a") === undefined, {
      timeoutMs: 15_000,
    });

    const types = events.map((e) => e.type);
    assert.equal(types[0], "ADDED");
    assert.ok(types.includes("MODIFIED"));
    assert.equal(types.at(-1), "DELETED");
    assert.ok(events.every((e) => e.key === "worker-a"));
    const modified = events.find((e) => e.type === "MODIFIED");
    assert.ok(modified?.previous);
    assert.equal(cache.stats.lists, 1);
  });

  it("projects a watched pod exactly as a listed one (string and Date timestamps)", async () => {
    const h = await harness();
    const { cache } = podCache(h);
    await cache.start();
    await createPod(h, "worker-b");
    await waitFor("worker-b is ready", () => cache.get("worker-b")?.ready === true);
    const watched = cache.get("worker-b");
    const listed = await h.core.readNamespacedPod({ name: "worker-b", namespace: NAMESPACE });
    assert.ok(listed.metadata?.creationTimestamp instanceof Date);
    assert.deepEqual(projectPod(listed), watched);
  });

  it("resumes a dropped or failing watch from its resourceVersion without relisting", async () => {
    const h = await harness({ nodes: [] });
    await createPod(h, "doomed");
    const { cache } = podCache(h);
    await cache.start();
    const listsBefore = h.sim.counters.get("list", "pods");

    await waitFor("the watch is open", () => h.sim.watchCount("pods") === 1);
    assert.equal(h.sim.faults.dropWatches("pods"), 1);
    await createPod(h, "after-drop");
    await waitFor("after-drop arrives", () => cache.get("after-drop") !== undefined);

    // While the watch cannot reconnect, a pod goes and another comes. Only a resume from the
    // last resourceVersion replays the deletion; a fresh watch would never mention "doomed".
    const removeFault = h.sim.faults.injectErrors({
      verbs: ["watch"],
      resources: ["pods"],
      code: 503,
    });
    assert.equal(h.sim.faults.resetWatches("pods"), 1);
    await deletePod(h, "doomed");
    await createPod(h, "while-away");
    removeFault();
    await waitFor("while-away arrives", () => cache.get("while-away") !== undefined);
    await waitFor("doomed is gone", () => cache.get("doomed") === undefined);

    assert.equal(h.sim.counters.get("list", "pods"), listsBefore);
    assert.equal(cache.stats.lists, 1);
    assert.ok(cache.stats.watchRestarts >= 2, `watchRestarts ${cache.stats.watchRestarts}`);
    await waitFor("exactly one watch is open", () => h.sim.watchCount("pods") === 1);
  });

  it("reports itself behind after a failed watch until a resumed watch holds, without a relist", async () => {
    const h = await harness({ nodes: [] });
    const { cache } = podCache(h);
    await cache.start();
    await waitFor("the watch is open", () => h.sim.watchCount("pods") === 1);
    const removeFault = h.sim.faults.injectErrors({
      verbs: ["watch"],
      resources: ["pods"],
      code: 503,
    });
    h.sim.faults.resetWatches("pods");
    await waitFor("the failure is reported", () => cache.stats.lastError !== undefined);
    removeFault();
    // Nothing changes meanwhile: the resumed watch delivers no event, and holding is enough.
    await waitFor("caught up", () => cache.stats.lastError === undefined);
    assert.equal(cache.stats.lists, 1, "caught up by resuming, not by listing again");
  });

  it("relists after 410 and synthesises DELETED for what vanished meanwhile", async () => {
    const h = await harness({ nodes: [] });
    for (const name of ["keep", "vanish", "change"]) await createPod(h, name);
    const { cache, events } = podCache(h);
    await cache.start();

    const removeFault = h.sim.faults.injectErrors({
      verbs: ["watch"],
      resources: ["pods"],
      code: 503,
    });
    h.sim.faults.dropWatches("pods");
    await deletePod(h, "vanish");
    // The kubelet's view changes behind the API's back: evicted while nobody watched.
    const change = h.sim.store.get("pods", NAMESPACE, "change") as Pod;
    h.sim.store.put("pods", {
      ...change,
      status: {
        ...change.status,
        phase: "Failed",
        reason: "Evicted",
        message: "The node was low on resource: memory.",
      },
    });
    await createPod(h, "newcomer");
    h.sim.faults.compactHistory();
    events.length = 0;
    removeFault();

    await waitFor("vanish is gone", () => cache.get("vanish") === undefined);
    await waitFor("newcomer arrives", () => cache.get("newcomer") !== undefined);
    assert.equal(cache.stats.relists, 1);
    assert.deepEqual(
      events.filter((e) => e.key === "vanish").map((e) => e.type),
      ["DELETED"],
    );
    assert.deepEqual(
      events.filter((e) => e.key === "newcomer").map((e) => e.type),
      ["ADDED"],
    );
    const changed = events.filter((e) => e.key === "change");
    assert.deepEqual(
      changed.map((e) => e.type),
      ["MODIFIED"],
    );
    assert.equal(changed[0]?.item.reason, "Evicted: The node was low on resource: memory.");
    assert.equal(changed[0]?.previous?.phase, "Pending");
    assert.ok(cache.get("keep"));
    assert.equal(
      events.some((e) => e.key === "keep"),
      false,
      "an unchanged pod is not re-announced",
    );
  });

  it("removes an object edited into a shape that no longer projects, and sees it come back", async () => {
    const h = await harness({ nodes: [] });
    const cache = createListWatchCache<RequestRecord>({
      kubeConfig: h.kubeConfig,
      source: namespacedConfigMaps(h.core, NAMESPACE),
      project: (object) => parseRecord(object as ConfigMapLike),
      key: (record) => record.requestId,
      labelSelector: `${LABEL_INSTANCE}=test`,
    });
    const events: CacheEvent<RequestRecord>[] = [];
    cache.subscribe((event) => events.push(event));
    cleanups.push(() => cache.stop());
    const body = recordConfigMap("test", {
      kind: "create",
      requestId: "req-1",
      templateId: "compute",
      machineCount: 2,
      rcAccount: "default",
    });
    await h.core.createNamespacedConfigMap({ namespace: NAMESPACE, body });
    await cache.start();
    assert.equal(cache.get("req-1")?.kind, "create");

    // An administrator's edit leaves the record unreadable: it must not stay in the cache as it was.
    const broken = { ...body, data: { request: "{not json" } };
    await h.core.replaceNamespacedConfigMap({
      namespace: NAMESPACE,
      name: body.metadata.name,
      body: broken,
    });
    await waitFor("the unreadable record leaves the cache", () => cache.get("req-1") === undefined);
    assert.equal(cache.size, 0);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.key}`),
      ["ADDED req-1", "DELETED req-1"],
    );

    await h.core.replaceNamespacedConfigMap({
      namespace: NAMESPACE,
      name: body.metadata.name,
      body,
    });
    await waitFor("the repaired record is back", () => cache.get("req-1") !== undefined);
    await h.core.deleteNamespacedConfigMap({ namespace: NAMESPACE, name: body.metadata.name });
    await waitFor("the deleted record is gone", () => cache.get("req-1") === undefined);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.key}`),
      ["ADDED req-1", "DELETED req-1", "ADDED req-1", "DELETED req-1"],
    );
  });

  it("a relist drops what no longer projects", async () => {
    const h = await harness({ nodes: [] });
    for (const name of ["stays", "unlabelled"]) await createPod(h, name);
    // The projection leaves out pods carrying the "hidden" label, as it would a malformed object.
    const { cache } = podCache(h, {
      project: (object) =>
        (object as Pod).metadata?.labels?.hidden === undefined ? projectPod(object) : undefined,
    });
    await cache.start();
    assert.equal(cache.size, 2);

    const removeFault = h.sim.faults.injectErrors({
      verbs: ["watch"],
      resources: ["pods"],
      code: 503,
    });
    h.sim.faults.dropWatches("pods");
    const pod = h.sim.store.get("pods", NAMESPACE, "unlabelled") as Pod;
    h.sim.store.put("pods", {
      ...pod,
      metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, hidden: "yes" } },
    });
    h.sim.faults.compactHistory();
    removeFault();

    await waitFor("the relist drops the pod that no longer projects", () => cache.size === 1);
    assert.equal(cache.get("unlabelled"), undefined);
    assert.ok(cache.get("stays"));
    assert.equal(cache.stats.relists, 1);
  });

  it("paces the relists of a watch that answers 410 every time, and starts over after a healthy stretch", async () => {
    const h = await harness({ nodes: [] });
    await createPod(h, "steady");
    const baseMs = 40;
    const capMs = 320;
    const resetMs = 500;
    const { cache } = podCache(h, {
      backoffBaseMs: baseMs,
      backoffCapMs: capMs,
      backoffResetMs: resetMs,
    });
    await cache.start();

    const removeFault = h.sim.faults.injectErrors({
      verbs: ["watch"],
      resources: ["pods"],
      code: 410,
    });
    h.sim.faults.dropWatches("pods");
    const faultedAt = performance.now();
    await waitFor("six relists", () => cache.stats.relists >= 6, { timeoutMs: 60_000 });
    const elapsedMs = performance.now() - faultedAt;
    const relists = cache.stats.relists;
    removeFault();

    // Each relist waited at least half its backoff, min(cap, base · 2^n) / 2 before relist n:
    // however slow the machine, no more relists fit in the time that passed than that allows.
    const floorMs = (n: number) => Math.min(capMs, baseMs * 2 ** n) / 2;
    let allowed = 0;
    for (let sum = floorMs(0); sum <= elapsedMs; sum += floorMs(allowed)) allowed++;
    assert.ok(relists <= allowed + 1, `${relists} relists in ${Math.round(elapsedMs)} ms`);
    let floorsMs = 0;
    for (let n = 0; n < cache.stats.backoffs; n++) floorsMs += floorMs(n);
    assert.ok(cache.stats.backoffMs >= floorsMs, "every wait at least half its exponential step");
    assert.ok(cache.get("steady"), "the cache still holds what the relists found");

    // A healthy stretch longer than the reset period: the next 410 waits a first step again.
    await waitFor("the watch is back", () => h.sim.watchCount("pods") === 1);
    await new Promise((resolve) => setTimeout(resolve, resetMs * 2));
    const backoffsBefore = cache.stats.backoffs;
    h.sim.faults.injectErrors({ verbs: ["watch"], resources: ["pods"], code: 410, count: 1 });
    h.sim.faults.dropWatches("pods");
    await waitFor("the 410 to be met", () => cache.stats.backoffs > backoffsBefore);
    assert.ok(cache.stats.lastBackoffMs < baseMs, `backed off ${cache.stats.lastBackoffMs} ms`);
  });

  it("aborts a silent watch and resumes it (watchdog)", async () => {
    const h = await harness({ nodes: [] });
    const { cache } = podCache(h, { watchdogMs: 300 });
    await cache.start();

    h.sim.faults.stallWatches();
    await createPod(h, "during-stall");
    await waitFor("the watchdog fires", () => cache.stats.stalls >= 1);
    h.sim.faults.resumeWatches();
    await waitFor("during-stall arrives", () => cache.get("during-stall") !== undefined);

    assert.equal(cache.stats.lists, 1);
    assert.ok(cache.stats.watchRestarts >= 1);
    await waitFor("the silent watch was closed", () => h.sim.watchCount("pods") === 1);
  });

  it("advances its resourceVersion on bookmarks when nothing it watches changes", async () => {
    const h = await harness({ nodes: [], bookmarkIntervalMs: 50 });
    const { cache, events } = podCache(h);
    await cache.start();
    const listed = Number(cache.resourceVersion);

    for (let i = 0; i < 3; i++) await createPod(h, `unwatched-${i}`, { [LABEL_INSTANCE]: "other" });
    const newest = h.sim.store.resourceVersion;
    assert.ok(newest > listed);

    await waitFor(
      "a bookmark carries the newer resourceVersion",
      () => Number(cache.resourceVersion) >= newest,
    );
    assert.equal(events.length, 0);
    assert.equal(cache.stats.events, 0);
  });

  it("starts a list over when its continue token expires between pages", async () => {
    const h = await harness({ nodes: [] });
    for (let i = 0; i < 12; i++) await createPod(h, `paged-${i}`);
    const pods = namespacedPods(h.core, NAMESPACE);
    let expireOnce = true;
    const source: ListWatchSource = {
      watchPath: pods.watchPath,
      async list(params, options) {
        const page = await pods.list(params, options);
        if (expireOnce && page.metadata?._continue) {
          expireOnce = false;
          await createPod(h, "late-comer");
          h.sim.faults.compactHistory();
        }
        return page;
      },
    };
    const { cache } = podCache(h, { source, pageSize: 5 });
    const listsBefore = h.sim.counters.get("list", "pods");
    await cache.start();

    assert.equal(cache.size, 13);
    assert.equal(cache.stats.lists, 1);
    // Page 1, the expired page 2, then three pages of the fresh list.
    assert.equal(h.sim.counters.get("list", "pods") - listsBefore, 5);
  });

  it("keeps retrying a failing first list and rejects start() if stopped before syncing", async () => {
    const h = await harness({ nodes: [] });
    h.sim.faults.injectErrors({ verbs: ["list"], resources: ["pods"], code: 503, count: 2 });
    const { cache } = podCache(h);
    await cache.start();
    assert.equal(cache.stats.lists, 1);
    assert.equal(cache.stats.lastError, undefined);

    h.sim.faults.injectErrors({ verbs: ["list"], resources: ["pods"], code: 403 });
    const { cache: blocked } = podCache(h);
    const started = blocked.start();
    await waitFor("the 403 is reported", () => blocked.stats.lastError !== undefined);
    assert.match(blocked.stats.lastError ?? "", /injected fault/);
    await blocked.stop();
    await assert.rejects(started, /stopped before its first list/);
  });
});
