/**
 * The in-process Kubernetes API simulator: a real HTTP API server (core/v1 pods, configmaps,
 * events, nodes, namespaces; coordination.k8s.io/v1 leases; authorization.k8s.io/v1
 * SelfSubjectAccessReview) with a scheduler, kubelets, fault injection and permission denials.
 * See README.md beside this file.
 */

export type { AccessAttributes, AccessRule, Authorization } from "./authorization.ts";
export { SIMULATED_USER } from "./authorization.ts";
export type { Cluster } from "./cluster.ts";
export type { Counters } from "./counters.ts";
export type { EventLog, SimulatorEvent } from "./event-log.ts";
export type {
  ErrorRule,
  FaultConfig,
  Faults,
  LatencyRule,
  RateLimit,
  RequestMatch,
  RestartOptions,
} from "./faults.ts";
export type { ContainerExit } from "./kubelet-exit.ts";
export { defaultNodes, type NodeSpec } from "./node-factory.ts";
export type { KubeObject, Node, ObjectMeta, Pod, Status, Taint } from "./object-types.ts";
export type { RestApi } from "./rest-api.ts";
export type { DeleteOptions } from "./rest-delete.ts";
export type { ListQuery, ListResult } from "./rest-list.ts";
export {
  createSimulator,
  DEFAULT_NODES,
  type Simulator,
  type SimulatorOptions,
} from "./simulator.ts";
export { StatusError } from "./status-error.ts";
export type { Store, StoreWatcher } from "./store.ts";
export type { StoreEvent, StoreEventType } from "./store-event.ts";
export type { WatchStats } from "./watch-connection.ts";
