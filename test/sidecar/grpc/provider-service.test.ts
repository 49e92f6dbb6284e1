// The handlers over fakes of the caches and the record store: what they answer, and what they
// ask the API server for, without a cluster.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Admitter } from "../../../sidecar/controller/admission.ts";
import type { ClusterState } from "../../../sidecar/controller/cluster-state.ts";
import {
  createProviderService,
  type HandlerRecords,
} from "../../../sidecar/grpc/provider-service.ts";
import type { FinalAnswer, RequestRecord } from "../../../sidecar/provider/model.ts";
import type { TemplatesSource } from "../../../sidecar/templates-source.ts";
import { createRecord, REQ, template } from "../provider/fixtures.ts";

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
  } as unknown as HandlerRecords;
  const templates = {
    get: () => template(),
    templates: [template()],
  } as unknown as TemplatesSource;
  const service = createProviderService(
    { instance: "i", podNamePrefix: "hf", namespace: "ns", clusterDomain: "cluster.local" },
    state,
    templates,
    store,
    {
      foreignPodNames: async () => new Set(),
      admitter: {} as Admitter,
      references: async () => ({ state: "found" }),
    },
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

test("machines asked for and not created yet, and those being accepted, use a quota's room until their pods count", async () => {
  const small = template({
    pod: {
      labels: {},
      annotations: {},
      spec: { containers: [{ name: "c", image: "i", resources: { requests: { cpu: "100m" } } }] },
    },
  });
  const nanos = (cores: number) => BigInt(cores * 1000) * 1_000_000n;
  const quota = {
    name: "compute-quota",
    spec: new Map([["requests.cpu", nanos(0.5)]]),
    hard: new Map([["requests.cpu", nanos(0.5)]]),
    used: new Map([["requests.cpu", nanos(0.1)]]),
    scopes: [],
  };
  let notCreated = 2;
  let cached = false;
  const state = {
    synced: true,
    record: () => (cached ? createRecord() : undefined),
    machinesInUse: () => 1 + notCreated,
    machinesNotCreated: () => notCreated,
    quotas: () => [quota],
    onChange: () => () => {},
  } as unknown as ClusterState;
  const templates = { get: () => small, templates: [small] } as unknown as TemplatesSource;
  let stored = 0;
  const store = {
    async create() {
      stored++;
    },
  } as unknown as HandlerRecords;
  const service = createProviderService(
    { instance: "i", podNamePrefix: "hf", namespace: "ns", clusterDomain: "cluster.local" },
    state,
    templates,
    store,
    {
      foreignPodNames: async () => new Set(),
      admitter: { admit: async () => ({ granted: true }), release: async () => {} },
      references: async () => ({ state: "found" }),
    },
  );
  const available = () => service.getAvailableTemplates().templates[0]?.availableNumber;
  // 500m hard, 100m used by the pod that exists, 200m for the two not created yet: 2 more.
  assert.equal(available(), 2);
  await assert.rejects(
    service.requestMachines({ templateId: "small", machineCount: 3, rcAccount: "" }),
    /has 2 machines available under ResourceQuota 'compute-quota' in namespace ns \(requests\.cpu: 500m hard, 100m used, 200m for machines not created yet, 100m a machine\); 3 requested/,
  );
  assert.equal(stored, 0, "a refused request stores nothing");
  await service.requestMachines({ templateId: "small", machineCount: 1, rcAccount: "" });
  assert.equal(available(), 1, "the accepted request counts before its record is cached");
  // Its record cached and every pod created: the quota's used counts them all.
  cached = true;
  notCreated = 0;
  assert.equal(available(), 4);
});
