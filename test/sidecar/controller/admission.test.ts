import assert from "node:assert/strict";
import { test } from "node:test";
import { createAdmitter, GRANT_TTL_MS } from "../../../sidecar/controller/admission.ts";
import type { ClusterState } from "../../../sidecar/controller/cluster-state.ts";
import type { LedgerEntry, LedgerStore } from "../../../sidecar/kube/reservation-ledger.ts";

/** A ledger kept in memory with the API server's rule: a write on a stale version conflicts. */
function memoryLedger() {
  let version = 0;
  let entries: Map<string, LedgerEntry> | undefined;
  let conflicts = 0;
  const store: LedgerStore = {
    async read() {
      await Promise.resolve();
      return entries && { resourceVersion: String(version), entries: new Map(entries) };
    },
    async write(changes, resourceVersion) {
      await Promise.resolve();
      const current = entries ? String(version) : undefined;
      if (current !== resourceVersion) {
        conflicts++;
        return false;
      }
      entries ??= new Map();
      for (const [id, entry] of Object.entries(changes)) {
        if (entry) entries.set(id, entry);
        else entries.delete(id);
      }
      version++;
      return true;
    },
    async remove(requestId) {
      entries?.delete(requestId);
      version++;
    },
  };
  return { store, entries: () => entries ?? new Map(), conflicts: () => conflicts };
}

/** A replica's view: `inUse` machines of the template, records it has seen. */
function view(inUse = 0, seen = new Set<string>()): ClusterState {
  return {
    machinesInUse: () => inUse,
    record: (id: string) => (seen.has(id) ? ({} as never) : undefined),
  } as unknown as ClusterState;
}

test("two replicas admitting at once never grant more than maxNumber between them", async () => {
  const ledger = memoryLedger();
  const replicas = [createAdmitter(ledger.store, view()), createAdmitter(ledger.store, view())];
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, (_, i) => replicas[i % 2]?.admit(`req-${i}`, "small", 10, 3)),
  );
  const granted = outcomes.filter((o) => o?.granted).length;
  assert.equal(granted, 3, "3 × 3 machines fit in 10, a fourth does not");
  assert.ok(ledger.conflicts() > 0, "the replicas did race");
  for (const outcome of outcomes) {
    if (outcome && !outcome.granted && "available" in outcome) assert.equal(outcome.available, 1);
  }
});

test("a grant counts until its record is seen, and an expired one is dropped at the next write", async () => {
  const ledger = memoryLedger();
  const seen = new Set<string>();
  const admitter = createAdmitter(ledger.store, view(0, seen));
  assert.deepEqual(await admitter.admit("req-a", "small", 4, 4), { granted: true });
  assert.deepEqual(await admitter.admit("req-b", "small", 4, 1), {
    granted: false,
    available: 0,
  });
  // Once the record is in the cache, machinesInUse counts it: the grant no longer adds to it.
  seen.add("req-a");
  assert.deepEqual(await admitter.admit("req-c", "small", 4, 1), { granted: true });
  const stale = { templateId: "small", count: 9, until: Date.now() - GRANT_TTL_MS };
  await ledger.store.write({ "req-old": stale }, (await ledger.store.read())?.resourceVersion);
  await admitter.admit("req-d", "other", 4, 1);
  assert.ok(!ledger.entries().has("req-old"));
});

test("a grant whose write was stored though its answer was lost is found, not taken twice", async () => {
  const ledger = memoryLedger();
  const admitter = createAdmitter(ledger.store, view());
  await ledger.store.write({ "req-a": { templateId: "small", count: 2, until: Date.now() + 1e4 } });
  assert.deepEqual(await admitter.admit("req-a", "small", 2, 2), { granted: true });
  await admitter.release("req-a");
  assert.equal(ledger.entries().size, 0);
});
