// The sidecar's own view of the world, shared by the pure HostFactory logic (this folder), the
// Kubernetes adapters (sidecar/kube) and the gRPC handlers. Nothing here knows a Kubernetes
// client: pods and request records arrive as these projections.

/** Label and annotation keys the sidecar puts on everything it creates: a Pod's are defined
 * with the Pod (templates/pod-manifest.ts, which the client renders sample Pods with too). */
export {
  ANNOTATION_RC_ACCOUNT,
  COOPERATIVE_ANNOTATIONS,
  LABEL_DRAIN_POLICY,
  LABEL_INSTANCE,
  LABEL_MACHINE_INDEX,
  LABEL_REQUEST_ID,
  LABEL_TEMPLATE_ID,
} from "../../templates/pod-manifest.ts";
export const LABEL_RECORD_KIND = "hostfactory-k8s/record";

/** Largest request accepted in one call, whatever a template allows; a record asking for more
 * (edited by hand) is not a record. */
export const MAX_MACHINES_PER_REQUEST = 10_000;

/** What the caches keep of a Pod: only what status answers and the reconciler need. */
export interface PodView {
  name: string;
  uid: string;
  /** The request that created it (label), empty for a pod without one. */
  requestId: string;
  templateId: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** Ready condition true. */
  ready: boolean;
  podIP: string;
  nodeName: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds of deletionTimestamp; undefined when not being deleted. */
  deletingAt?: number;
  /** Why it is not (yet) running or why it failed, in the words Kubernetes gave (scheduler
   * message, container termination reason, eviction), empty when there is nothing to say. */
  reason: string;
  /** Containers (init containers first) waiting for a reason other than being created or the
   * pod initializing: an image pull failing, a missing Secret, a crash loop. Absent when none. */
  waiting?: ContainerWaiting[];
  /** The pod is being disrupted (DisruptionTarget condition: eviction, node going away). */
  disrupted: boolean;
  /** The scheduler is preempting the pod for a higher-priority one (DisruptionTarget with reason
   * PreemptionByScheduler): the condition's message, which names the scheduler, not the
   * preemptor. Absent when the pod is not being preempted. */
  preempted?: string;
  /** spec.terminationGracePeriodSeconds: what a drain or eviction gives the pod. */
  gracePeriodSeconds: number;
  /** Its template's drain policy is cooperative: evictions wait until HostFactory returns it. */
  cooperative: boolean;
}

/** A container waiting to start, in the kubelet's words. */
export interface ContainerWaiting {
  container: string;
  /** An init container (its name is then shown as such). */
  init: boolean;
  /** The kubelet's reason, a CamelCase word: ErrImagePull, CreateContainerConfigError, … */
  reason: string;
  message: string;
}

/** What the optional node cache keeps of a Node. */
export interface NodeView {
  name: string;
  /** The Ready condition is True (a NotReady node's pods are unreachable and will be evicted). */
  ready: boolean;
  /** Why the node is going away (a removal taint), empty when it is not. */
  leaving: string;
  /** Cordoned (spec.unschedulable): `kubectl drain` starts so, and a cooperative host's pod is
   * what keeps the drain waiting. */
  cordoned: boolean;
}

/**
 * The first final answer given for a request, stored in its record before any replica gives it,
 * so every replica answers it from then on: a final state never changes or goes backwards, and
 * two replicas never give different final answers.
 */
export interface FinalAnswer {
  status: "complete" | "complete_with_error";
  /** Epoch milliseconds when it was first given. */
  at: number;
  /** Indexes of the machines that failed. */
  failed: number[];
  /** Each machine's machineId (pod UID) when the answer was given, "" when it had none; kept so
   * a machine keeps its id after its pod is gone (create requests; empty for returns). */
  machineIds: string[];
}

/** A create request as stored (ConfigMap `data`), plus what the reconciler learned. */
export interface CreateRecord {
  kind: "create";
  requestId: string;
  templateId: string;
  machineCount: number;
  rcAccount: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Every machine has been created, failed or returned at least once: a missing pod is gone,
   * never to be created again. */
  settled: boolean;
  /** Machines that failed for good, by index: the reason (API rejection, Pending timeout). */
  failures: Record<number, string>;
  /** Epoch milliseconds when the request first reached a final status; undefined before. */
  completedAt?: number;
  final?: FinalAnswer;
  /** HostFactory has not asked about it yet (a request it never asks about is abandoned). */
  unasked?: boolean;
}

/** A return request as stored. */
export interface ReturnRecord {
  kind: "return";
  requestId: string;
  /** The machines to return: pod name and (when HostFactory sent it) pod UID. */
  machines: { name: string; machineId: string }[];
  createdAt: number;
  /** Machines whose deletion the API server refused for good, by index into `machines`. */
  failures: Record<number, string>;
  completedAt?: number;
  final?: FinalAnswer;
}

export type RequestRecord = CreateRecord | ReturnRecord;
