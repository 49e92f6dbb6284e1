import type { Node, Taint } from "./object-types.ts";
import { NODES } from "./resources.ts";
import type { Store } from "./store.ts";

/** A node of the simulated cluster, as createSimulator's `nodes` option and addNode take it. */
export interface NodeSpec {
  name: string;
  /** Allocatable cpu (a quantity); default "8". */
  cpu?: string;
  /** Allocatable memory (a quantity); default "32Gi". */
  memory?: string;
  /** Allocatable pod count; default 110. */
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** Extended resources, e.g. { "nvidia.com/gpu": "4" }. */
  extendedResources?: Record<string, string>;
}

export const DEFAULT_NODE_CPU = "8";
export const DEFAULT_NODE_MEMORY = "32Gi";
export const DEFAULT_NODE_PODS = 110;
/** `count` default nodes named node-1 … node-<count>. */
export function defaultNodes(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, index) => ({ name: `node-${index + 1}` }));
}

/** The kubelet version simulated nodes report. */
export const KUBELET_VERSION = "v1.33.0";
/** Pod CIDRs are 10.<n>.0.0/16 for n in 1..MAX_NODE_CIDRS. */
const MAX_NODE_CIDRS = 254;

/** The first 10.<n>.0.0/16 no node uses yet. */
export function allocatePodCIDR(store: Store): string {
  const used = new Set((store.list(NODES.name) as Node[]).map((node) => node.spec?.podCIDR));
  for (let octet = 1; octet <= MAX_NODE_CIDRS; octet++) {
    const cidr = `10.${octet}.0.0/16`;
    if (!used.has(cidr)) return cidr;
  }
  throw new Error(`the simulator supports at most ${MAX_NODE_CIDRS} nodes at once`);
}

/** The node's InternalIP, derived from its pod CIDR: 10.<n>.0.0/16 → 172.18.0.<n+1>. */
function internalIP(podCIDR: string): string {
  const octet = Number(/^10\.(\d+)\./.exec(podCIDR)?.[1] ?? "0");
  return `172.18.${(octet + 1) >> 8}.${(octet + 1) & 255}`;
}

/** The status a kubelet posts for a healthy node with `capacity`. */
export function readyNodeStatus(
  name: string,
  capacity: Record<string, string>,
  podCIDR: string,
  at: string,
): NonNullable<Node["status"]> {
  const healthy = (type: string, reason: string, message: string) => ({
    type,
    status: "False" as const,
    lastHeartbeatTime: at,
    lastTransitionTime: at,
    reason,
    message,
  });
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      healthy(
        "MemoryPressure",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      healthy("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      healthy("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      {
        type: "Ready",
        status: "True",
        lastHeartbeatTime: at,
        lastTransitionTime: at,
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
      },
    ],
    addresses: [
      { type: "InternalIP", address: internalIP(podCIDR) },
      { type: "Hostname", address: name },
    ],
    nodeInfo: {
      machineID: "",
      systemUUID: "",
      bootID: "",
      kernelVersion: "6.1.0-simulated",
      osImage: "hostfactory-k8s simulator",
      containerRuntimeVersion: "containerd://2.0.0",
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

export function buildNode(spec: NodeSpec, podCIDR: string, at: string): Node {
  const capacity: Record<string, string> = {
    cpu: spec.cpu ?? DEFAULT_NODE_CPU,
    memory: spec.memory ?? DEFAULT_NODE_MEMORY,
    pods: String(spec.pods ?? DEFAULT_NODE_PODS),
    "ephemeral-storage": "100Gi",
    ...spec.extendedResources,
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels: {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...spec.labels,
      },
    },
    spec: { podCIDR, podCIDRs: [podCIDR], ...(spec.taints?.length ? { taints: spec.taints } : {}) },
    status: readyNodeStatus(spec.name, capacity, podCIDR, at),
  };
}
