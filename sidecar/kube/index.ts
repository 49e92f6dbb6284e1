// The Kubernetes machinery of the sidecar: what the provider, the reconciler and main may use.

export { abortOptions } from "./abort-options.ts";
export { KubeApiError, type KubeApiErrorKind, toKubeApiError } from "./api-errors.ts";
export { fullJitterDelayMs } from "./backoff.ts";
export {
  type KubeConfigSource,
  type LoadedKubeConfig,
  type LoadKubeConfigOptions,
  loadKubeConfig,
} from "./client.ts";
export {
  createLeaderElector,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type LeaderElector,
  type LeaderElectorOptions,
} from "./leader-election.ts";
export {
  type CacheEvent,
  type CacheEventType,
  createListWatchCache,
  DEFAULT_PAGE_SIZE,
  DEFAULT_WATCHDOG_MS,
  type ListPage,
  type ListParams,
  type ListWatchCache,
  type ListWatchCacheOptions,
  type ListWatchSource,
  type ListWatchStats,
} from "./list-watch.ts";
export { namespacedConfigMaps, namespacedPods } from "./list-watch-sources.ts";
export { type Logger, silentLogger } from "./logger.ts";
export { projectPod } from "./pod-view.ts";
export {
  createRateLimiter,
  DEFAULT_BURST,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_QPS,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimiterStats,
} from "./rate-limiter.ts";
export { POD_NAME_ENV, replicaIdentity } from "./replica-identity.ts";
export { type RetryOptions, withRetry } from "./retry.ts";
export { shareConnections } from "./shared-dispatcher.ts";
