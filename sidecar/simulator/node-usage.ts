import type { Pod } from "./object-types.ts";
import { podRequests } from "./pod-strategy.ts";
import { PODS } from "./resources.ts";
import type { Store } from "./store.ts";

/**
 * What the pods bound to each node request (millicores, bytes, pod count), kept current from
 * pod events, as the scheduler's cache does. Finished pods (Succeeded, Failed) free their share;
 * terminating ones keep it until they are gone.
 */
export interface NodeUsage {
  /** Requested units per resource on a node, including "pods". */
  of(node: string): Readonly<Record<string, number>>;
  /** Pods (namespace/name) bound to a node and not finished. */
  podsOn(node: string): string[];
  /** Calls `listener` whenever some node's usage goes down. */
  onFreed(listener: () => void): void;
}

interface Share {
  node: string;
  requests: Record<string, number>;
}

export function createNodeUsage(store: Store): NodeUsage {
  const shares = new Map<string, Share>();
  const byNode = new Map<string, { totals: Record<string, number>; pods: Set<string> }>();
  const freedListeners: (() => void)[] = [];
  const EMPTY: Record<string, number> = {};

  const adjust = (key: string, share: Share, sign: 1 | -1) => {
    let node = byNode.get(share.node);
    if (!node) {
      node = { totals: {}, pods: new Set() };
      byNode.set(share.node, node);
    }
    for (const [resource, value] of Object.entries(share.requests)) {
      node.totals[resource] = (node.totals[resource] ?? 0) + sign * value;
    }
    if (sign > 0) node.pods.add(key);
    else node.pods.delete(key);
  };

  store.subscribe(PODS.name, (event) => {
    const pod = event.object as Pod;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const counts =
      event.type !== "DELETED" &&
      Boolean(pod.spec.nodeName) &&
      pod.status?.phase !== "Succeeded" &&
      pod.status?.phase !== "Failed";
    const previous = shares.get(key);
    if (counts && previous?.node === pod.spec.nodeName) return;
    if (previous) {
      adjust(key, previous, -1);
      shares.delete(key);
    }
    if (counts) {
      const share = {
        node: pod.spec.nodeName as string,
        requests: { ...podRequests(pod), pods: 1 },
      };
      shares.set(key, share);
      adjust(key, share, 1);
    } else if (previous) {
      for (const listener of freedListeners) listener();
    }
  });

  return {
    of: (node) => byNode.get(node)?.totals ?? EMPTY,
    podsOn: (node) => [...(byNode.get(node)?.pods ?? [])],
    onFreed(listener) {
      freedListeners.push(listener);
    },
  };
}
