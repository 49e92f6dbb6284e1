// What the ProviderService operations share: the settings, the caches, the templates, the record
// store and the cluster lookups, handed to each operation as one object.

import type { Admitter } from "../controller/admission.ts";
import type { ClusterState } from "../controller/cluster-state.ts";
import type { ForeignPodNames } from "../kube/foreign-pods.ts";
import type { RecordStore } from "../kube/record-store.ts";
import { ProviderError } from "../provider/errors.ts";
import type { ReferenceLookup } from "../provider/template-references.ts";
import type { TemplatesSource } from "../templates-source.ts";

/** The record operations the handlers use. */
export type HandlerRecords = Pick<
  RecordStore,
  "create" | "read" | "readVersioned" | "remove" | "fail" | "markAsked" | "storeFinal"
>;

export interface ProviderSettings {
  instance: string;
  podNamePrefix: string;
  namespace: string;
  clusterDomain: string;
  /** Most machines one requestMachines may ask for; default (and at most) MAX_MACHINES_PER_REQUEST. */
  maxRequestMachines?: number;
}

/** What the handlers use beside the caches and the record store. */
export interface ProviderDependencies {
  /** Pods of the namespace that are not ours, by name (getReturnRequests). */
  foreignPodNames: ForeignPodNames;
  /** Holds maxNumber across replicas. */
  admitter: Admitter;
  /** Finds the objects a template names (its PriorityClass, before a request is taken). */
  references: ReferenceLookup;
}

export interface ProviderContext {
  settings: ProviderSettings;
  state: ClusterState;
  templates: TemplatesSource;
  store: HandlerRecords;
  cluster: ProviderDependencies;
}

export interface MachineRef {
  name: string;
  machineId: string;
}

export function requireSynced(state: ClusterState): void {
  if (!state.synced) {
    throw new ProviderError(
      "unavailable",
      "the sidecar is still loading the cluster's state; try again shortly",
    );
  }
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
