import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CoordinationV1Api } from "@kubernetes/client-node";
import {
  createLeaderElector,
  type LeaderElector,
  type LeaderElectorOptions,
} from "../../../sidecar/kube/leader-election.ts";
import type { RateLimiter } from "../../../sidecar/kube/rate-limiter.ts";
import { waitFor } from "../../tools/wait-for.ts";
import { type Harness, NAMESPACE, startSimulator } from "./_simulator.ts";

const LEASE = "hostfactory-sidecar";
/** Short enough for tests, in the proportions of client-go's 15 s / 10 s / 2 s. */
const FAST = { leaseDurationMs: 1_000, renewDeadlineMs: 700, retryPeriodMs: 100 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(): Promise<Harness> {
  const h = await startSimulator({ nodes: [] });
  cleanups.push(() => h.sim.close());
  return h;
}

/** Electors record "<identity>:start" / "<identity>:stop" in `log`, in the order they happen. */
function elector(
  h: Harness,
  identity: string,
  log: string[],
  overrides: Partial<LeaderElectorOptions> = {},
): LeaderElector {
  const e = createLeaderElector({
    kubeConfig: h.kubeConfig,
    namespace: NAMESPACE,
    leaseName: LEASE,
    identity,
    ...FAST,
    onStartedLeading: () => log.push(`${identity}:start`),
    onStoppedLeading: () => log.push(`${identity}:stop`),
    ...overrides,
  });
  cleanups.push(() => e.stop());
  return e;
}

const readLease = (h: Harness) =>
  h.kubeConfig
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: LEASE, namespace: NAMESPACE });

/**
 * A limiter that can cut its elector off from the API server, as a network partition would:
 * while `partitioned`, calls hang until their signal aborts.
 */
function partitionable(): RateLimiter & { partitioned: boolean } {
  return {
    partitioned: false,
    schedule(fn, signal) {
      if (!this.partitioned) return fn();
      return new Promise((_, reject) =>
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true }),
      );
    },
    pause() {},
    stats: {
      waiting: 0,
      waitingByLane: { read: 0, record: 0, bulk: 0 },
      inFlight: 0,
      started: 0,
      throttled: 0,
      pausedForMs: 0,
    },
  };
}

describe("createLeaderElector", () => {
  it("creates the lease and leads, writing MicroTime with six fractional digits", async () => {
    const h = await harness();
    const log: string[] = [];
    const a = elector(h, "replica-a", log);
    a.start();
    await waitFor("replica-a leads", () => a.isLeader);

    assert.deepEqual(log, ["replica-a:start"]);
    assert.equal(a.leader, "replica-a");
    const stored = h.sim.store.get("leases", NAMESPACE, LEASE) as unknown as {
      spec: {
        holderIdentity: string;
        renewTime: string;
        leaseTransitions: number;
        leaseDurationSeconds: number;
      };
    };
    assert.equal(stored.spec.holderIdentity, "replica-a");
    assert.equal(stored.spec.leaseTransitions, 0);
    assert.equal(stored.spec.leaseDurationSeconds, 1);
    assert.match(stored.spec.renewTime, /\.\d{6}Z$/);
  });

  it("lets only one of two replicas lead, and both know who", async () => {
    const h = await harness();
    const log: string[] = [];
    const a = elector(h, "replica-a", log);
    const b = elector(h, "replica-b", log);
    a.start();
    b.start();
    await waitFor("someone leads", () => a.isLeader || b.isLeader);
    // Several renewal rounds later, still exactly one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(Number(a.isLeader) + Number(b.isLeader), 1);
    assert.equal(log.length, 1);
    const holder = a.isLeader ? "replica-a" : "replica-b";
    await waitFor("both see the holder", () => a.leader === holder && b.leader === holder);
  });

  it("takes over when the leader stops renewing, after the leader has stepped down", async () => {
    const h = await harness();
    const log: string[] = [];
    const cutOff = partitionable();
    const a = elector(h, "replica-a", log, { limiter: cutOff });
    a.start();
    await waitFor("replica-a leads", () => a.isLeader);
    const b = elector(h, "replica-b", log);
    b.start();
    await waitFor("replica-b sees replica-a", () => b.leader === "replica-a");

    cutOff.partitioned = true;
    await waitFor("replica-b leads", () => b.isLeader, { timeoutMs: 10_000 });

    assert.equal(a.isLeader, false);
    assert.deepEqual(log, ["replica-a:start", "replica-a:stop", "replica-b:start"]);
    const lease = await readLease(h);
    assert.equal(lease.spec?.holderIdentity, "replica-b");
    assert.equal(lease.spec?.leaseTransitions, 1);
  });

  it("releases the lease on stop so another replica takes over at once", async () => {
    const h = await harness();
    const log: string[] = [];
    // A 30 s lease: without the release, replica-b would wait that long.
    const slow = { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 100 };
    const a = elector(h, "replica-a", log, slow);
    a.start();
    await waitFor("replica-a leads", () => a.isLeader);
    const b = elector(h, "replica-b", log, slow);
    b.start();
    await waitFor("replica-b sees replica-a", () => b.leader === "replica-a");

    await a.stop();
    assert.equal(a.isLeader, false);
    await waitFor("replica-b leads", () => b.isLeader, { timeoutMs: 5_000 });
    assert.deepEqual(log, ["replica-a:start", "replica-a:stop", "replica-b:start"]);
  });

  it("keeps leading through a 409 Conflict on renewal", async () => {
    const h = await harness();
    const log: string[] = [];
    const a = elector(h, "replica-a", log);
    a.start();
    await waitFor("replica-a leads", () => a.isLeader);
    const updatesBefore = h.sim.counters.get("update", "leases");

    h.sim.faults.injectErrors({ verbs: ["update"], resources: ["leases"], code: 409, count: 2 });
    await waitFor(
      "two renewals after the conflicts",
      () => h.sim.counters.get("update", "leases") >= updatesBefore + 4,
    );

    assert.equal(a.isLeader, true);
    assert.deepEqual(log, ["replica-a:start"]);
  });

  it("gives the leading work a signal that aborts when leadership ends", async () => {
    const h = await harness();
    let leading: AbortSignal | undefined;
    const a = elector(h, "replica-a", [], {
      onStartedLeading: (signal) => {
        leading = signal;
      },
    });
    a.start();
    await waitFor("replica-a leads", () => leading !== undefined);
    assert.equal(leading?.aborted, false);
    await a.stop();
    assert.equal(leading?.aborted, true);
    const lease = await readLease(h);
    assert.equal(lease.spec?.holderIdentity, undefined);
  });

  it("refuses timings that would let two replicas lead at once", () => {
    const kubeConfig = {} as LeaderElectorOptions["kubeConfig"];
    const base = { kubeConfig, namespace: NAMESPACE, leaseName: LEASE, identity: "x" };
    assert.throws(
      () => createLeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
      RangeError,
    );
    assert.throws(
      () => createLeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
      RangeError,
    );
    assert.throws(() => createLeaderElector({ ...base, identity: "" }), RangeError);
  });
});
