// The elector's calls on its one Lease, each given up when its signal aborts (a renewal past its
// deadline) and sent through the elector's rate limiter when it has one.

import {
  type ConfigurationOptions,
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
} from "@kubernetes/client-node";
import { abortOptions } from "./abort-options.ts";
import type { RateLimiter } from "./rate-limiter.ts";

export interface LeaseClient {
  read(signal: AbortSignal): Promise<V1Lease>;
  create(body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  /** An optimistic write: a 409 when the lease changed since `body` was read. */
  replace(body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

export function createLeaseClient(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  limiter: RateLimiter | undefined,
): LeaseClient {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  const call = <R>(
    verb: string,
    fn: (options: ConfigurationOptions) => Promise<R>,
    signal: AbortSignal,
  ): Promise<R> => {
    const send = () => fn(abortOptions(signal));
    const label = { verb, resource: "leases" };
    return limiter ? limiter.schedule(send, signal, label) : send();
  };
  return {
    read: (signal) => call("get", (o) => api.readNamespacedLease({ name, namespace }, o), signal),
    create: (body, signal) =>
      call("create", (o) => api.createNamespacedLease({ namespace, body }, o), signal),
    replace: (body, signal) =>
      call("update", (o) => api.replaceNamespacedLease({ name, namespace, body }, o), signal),
  };
}
