// Who this replica is on the Lease. In a Pod it is the Pod's name (POD_NAME, from the downward
// API), the same across a restart of the container, so a sidecar restarted in place finds the
// Lease under its own name and takes it back at once instead of waiting out the lease duration
// for its dead predecessor. Without POD_NAME (outside Kubernetes, where two sidecars may share a
// host) the process id keeps replicas apart, at the price of that wait.
import { hostname } from "node:os";

/** The environment variable the chart fills from `metadata.name`. */
export const POD_NAME_ENV = "POD_NAME";

export function replicaIdentity(
  env: NodeJS.ProcessEnv = process.env,
  host: string = hostname(),
  pid: number = process.pid,
): string {
  const podName = env[POD_NAME_ENV]?.trim();
  return podName ? podName : `${host}-${pid}`;
}
