import type { Node } from "./object-types.ts";

/** The IPs handed to pods, from each node's pod CIDR; a pod keeps its IP while on its node. */
export interface PodIpPool {
  /** The pod's IP on `node`, allocated on first use. */
  allocate(podKey: string, node: Node): string;
  /** Gives the pod's IP back to its node's pool. */
  release(podKey: string): void;
}

/** The first two octets of the node's pod CIDR, pods taking the hosts of its /16. */
function cidrBase(node: Node): string {
  const match = /^(\d+)\.(\d+)\./.exec(node.spec?.podCIDR ?? "");
  return match ? `${match[1]}.${match[2]}` : "10.0";
}

export function createPodIpPool(): PodIpPool {
  /** Per node: the next free host number in its /16 and the ones given back. */
  const pools = new Map<string, { next: number; free: number[] }>();
  const podIPs = new Map<string, { node: string; host: number }>();
  return {
    allocate(podKey, node) {
      const nodeName = node.metadata.name as string;
      let held = podIPs.get(podKey);
      if (!held || held.node !== nodeName) {
        let pool = pools.get(nodeName);
        if (!pool) {
          pool = { next: 2, free: [] };
          pools.set(nodeName, pool);
        }
        const host = pool.free.pop() ?? pool.next++;
        held = { node: nodeName, host };
        podIPs.set(podKey, held);
      }
      return `${cidrBase(node)}.${held.host >> 8}.${held.host & 255}`;
    },
    release(podKey) {
      const held = podIPs.get(podKey);
      if (!held) return;
      podIPs.delete(podKey);
      pools.get(held.node)?.free.push(held.host);
    },
  };
}
