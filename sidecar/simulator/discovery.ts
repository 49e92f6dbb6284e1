import { RESOURCES, type ResourceInfo } from "./resources.ts";

/**
 * Discovery documents, so that kubectl (and client-go based tools) find the served resources:
 * /version, /api, /apis, and an APIResourceList per group version.
 */

/** The Kubernetes version the simulator reports; its API follows this release. */
export const KUBERNETES_VERSION = { major: "1", minor: "33", gitVersion: "v1.33.0" };

/**
 * Groups listed in /apis. policy is not: the simulator serves none of its resources, and
 * discovery clients fail on a group version without resources (pods/eviction, which takes a
 * policy/v1 Eviction, is served all the same).
 */
const GROUPS = ["coordination.k8s.io", "authorization.k8s.io"];

export function versionInfo(): unknown {
  return {
    ...KUBERNETES_VERSION,
    gitVersion: `${KUBERNETES_VERSION.gitVersion}+hostfactory-simulator`,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.24.0",
    compiler: "gc",
    platform: `linux/${process.arch === "arm64" ? "arm64" : "amd64"}`,
  };
}

export function coreVersions(serverAddress: string): unknown {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupDocument(name: string): unknown {
  const version = { groupVersion: `${name}/v1`, version: "v1" };
  return { name, versions: [version], preferredVersion: version };
}

export function groupList(): unknown {
  return { kind: "APIGroupList", apiVersion: "v1", groups: GROUPS.map(groupDocument) };
}

/** The APIGroup document of /apis/<group>, or undefined for a group not served. */
export function group(name: string): unknown {
  return GROUPS.includes(name)
    ? { kind: "APIGroup", apiVersion: "v1", ...(groupDocument(name) as object) }
    : undefined;
}

function resourceEntries(info: ResourceInfo): unknown[] {
  const main = {
    name: info.name,
    singularName: info.singularName,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: info.verbs,
    ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
    storageVersionHash: Buffer.from(`${info.apiVersion}/${info.kind}`)
      .toString("base64")
      .slice(0, 11),
  };
  const subresources = Object.entries(info.subresources).map(([name, sub]) => ({
    name: `${info.name}/${name}`,
    singularName: "",
    namespaced: info.namespaced,
    ...(sub.group ? { group: sub.group, version: sub.version } : {}),
    kind: sub.kind,
    verbs: sub.verbs,
  }));
  return [main, ...subresources];
}

/** The APIResourceList of "v1" or "group/v1", or undefined when the simulator serves none. */
export function resourceList(groupVersion: string): unknown {
  const resources = RESOURCES.filter((info) => info.apiVersion === groupVersion);
  if (resources.length === 0 && !GROUPS.some((name) => `${name}/v1` === groupVersion))
    return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: resources.flatMap(resourceEntries),
  };
}
