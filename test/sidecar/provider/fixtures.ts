// Builders for the provider tests: a pod projection and records with sensible defaults, so each
// table row states only what it is about.
import type { CreateRecord, PodView, ReturnRecord } from "../../../sidecar/provider/model.ts";
import type { Template } from "../../../templates/parse.ts";

export const T0 = Date.parse("2026-11-24T10:00:00Z");
export const PREFIX = "hf";
export const REQ = "req-abcdefghij";

export function pod(overrides: Partial<PodView> = {}): PodView {
  return {
    name: `${PREFIX}-${REQ}-0`,
    uid: "uid-0",
    requestId: REQ,
    templateId: "small",
    phase: "Running",
    ready: true,
    podIP: "10.0.0.1",
    nodeName: "node-1",
    createdAt: T0,
    reason: "",
    disrupted: false,
    gracePeriodSeconds: 30,
    cooperative: false,
    ...overrides,
  };
}

export function createRecord(overrides: Partial<CreateRecord> = {}): CreateRecord {
  return {
    kind: "create",
    requestId: REQ,
    templateId: "small",
    machineCount: 1,
    rcAccount: "",
    createdAt: T0,
    settled: false,
    failures: {},
    ...overrides,
  };
}

export function returnRecord(overrides: Partial<ReturnRecord> = {}): ReturnRecord {
  return {
    kind: "return",
    requestId: "ret-abcdefghij",
    machines: [{ name: `${PREFIX}-${REQ}-0`, machineId: "uid-0" }],
    createdAt: T0,
    failures: {},
    ...overrides,
  };
}

export function template(overrides: Partial<Template> = {}): Template {
  return {
    templateId: "small",
    maxNumber: 10,
    attributes: {},
    pod: { labels: {}, annotations: {}, spec: { containers: [{ name: "c", image: "i" }] } },
    pendingTimeoutSeconds: 60,
    hostnameStyle: "short",
    drainPolicy: "immediate",
    ...overrides,
  };
}

/** A lookup over the given pods, by name. */
export function podsOf(...pods: PodView[]): (name: string) => PodView | undefined {
  const byName = new Map(pods.map((p) => [p.name, p]));
  return (name) => byName.get(name);
}
