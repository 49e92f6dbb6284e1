// The handlers over fakes of the caches and the record store: what they answer, and what they
// ask the API server for, without a cluster.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterState } from "../../sidecar/cluster-state.ts";
import type { Admitter } from "../../sidecar/controller/admission.ts";
import type { FinalAnswer, RequestRecord } from "../../sidecar/provider/model.ts";
import { createProviderService, type RecordStore } from "../../sidecar/provider-service.ts";
import type { TemplatesSource } from "../../sidecar/templates-source.ts";
import { createRecord, REQ, template } from "./provider/fixtures.ts";

const FINAL: FinalAnswer = { status: "complete", at: 1, failed: [], machineIds: ["u0"] };

/** A replica whose caches show `cached`, and whose API server holds `stored`. */
function replica(cached: RequestRecord, stored: RequestRecord, catchingUp: boolean) {
  let reads = 0;
  const state = {
    synced: true,
    catchingUp,
    record: (id: string) => (id === cached.requestId ? cached : undefined),
    pod: () => undefined,
    isReturning: () => false,
    lastSeen: () => undefined,
    onChange: () => () => {},
    machinesInUse: () => 0,
  } as unknown as ClusterState;
  const store = {
    async readVersioned() {
      reads++;
      return { record: stored, resourceVersion: "7" };
    },
    async markAsked() {},
  } as unknown as RecordStore;
  const templates = {
    get: () => template(),
    templates: [template()],
  } as unknown as TemplatesSource;
  const service = createProviderService(
    { instance: "i", podNamePrefix: "hf", namespace: "ns", clusterDomain: "cluster.local" },
    state,
    templates,
    store,
    { foreignPodNames: async () => new Set(), admitter: {} as Admitter },
  );
  return { service, reads: () => reads };
}

test("a replica catching up after a failed watch answers a final status another replica stored", async () => {
  const running = createRecord();
  const finalized = { ...running, final: FINAL };
  const behind = replica(running, finalized, true);
  const [answer] = await behind.service.getRequestStatus([REQ]);
  assert.equal(answer?.status, "complete", "never back to running");
  assert.equal(answer?.machines[0]?.machineId, "u0");
  assert.equal(behind.reads(), 1);
  // With caches in step, a running request costs no API read.
  const current = replica(running, finalized, false);
  const [cached] = await current.service.getRequestStatus([REQ]);
  assert.equal(cached?.status, "running");
  assert.equal(current.reads(), 0);
});
