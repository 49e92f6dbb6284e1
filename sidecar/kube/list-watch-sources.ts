// The collections the sidecar caches, as list-watch sources over client-node's typed APIs.

import type { CoreV1Api } from "@kubernetes/client-node";
import type { ListWatchSource } from "./list-watch.ts";

export function namespacedPods(core: CoreV1Api, namespace: string): ListWatchSource {
  return {
    watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    list: (params, options) => core.listNamespacedPod({ namespace, ...params }, options),
  };
}

export function namespacedConfigMaps(core: CoreV1Api, namespace: string): ListWatchSource {
  return {
    watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
    list: (params, options) => core.listNamespacedConfigMap({ namespace, ...params }, options),
  };
}

export function namespacedResourceQuotas(core: CoreV1Api, namespace: string): ListWatchSource {
  return {
    watchPath: `/api/v1/namespaces/${encodeURIComponent(namespace)}/resourcequotas`,
    list: (params, options) => core.listNamespacedResourceQuota({ namespace, ...params }, options),
  };
}

/** Nodes are cluster-scoped: this needs a ClusterRole (get, list, watch nodes). */
export function clusterNodes(core: CoreV1Api): ListWatchSource {
  return {
    watchPath: "/api/v1/nodes",
    list: (params, options) => core.listNode(params, options),
  };
}
