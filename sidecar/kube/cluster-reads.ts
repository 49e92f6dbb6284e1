// The Kubernetes calls of the admin service, all through the sidecar's rate limiter: a request's
// pods and Events for its timeline, a Pod sent as a dry run, and access reviews. None of them
// changes anything in the cluster.
import type {
  AuthorizationV1Api,
  CoreV1Api,
  CoreV1Event,
  V1Pod,
  V1SelfSubjectAccessReview,
} from "@kubernetes/client-node";
import type { Permission } from "../admin/permissions.ts";
import { toKubeApiError } from "./api-errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** Page size of the lists below. */
const PAGE_SIZE = 500;
/** A timeline reads at most this many Events of the namespace (the newest are not favoured:
 * the API lists by name); past it, the timeline says it may be missing some. */
export const MAX_EVENTS_SCANNED = 10_000;

export interface ClusterReads {
  /** Pods matching a label selector, every page. */
  pods(labelSelector: string): Promise<V1Pod[]>;
  /** Events about the named objects; `complete` is false when the scan stopped early. */
  events(involved: ReadonlySet<string>): Promise<{ events: CoreV1Event[]; complete: boolean }>;
  /** The API server's verdict on creating `pod` (dryRun=All): undefined when it accepts it. */
  dryRunPod(pod: object): Promise<string | undefined>;
  /** Whether the sidecar's identity may make the call; `error` when the review itself failed. */
  review(permission: Permission): Promise<{ allowed: boolean; reason: string; error: string }>;
}

export function createClusterReads(
  core: CoreV1Api,
  authorization: AuthorizationV1Api,
  limiter: RateLimiter,
  namespace: string,
): ClusterReads {
  return {
    async pods(labelSelector) {
      const pods: V1Pod[] = [];
      let token: string | undefined;
      do {
        const page = await limiter.schedule(
          () =>
            core.listNamespacedPod({
              namespace,
              labelSelector,
              limit: PAGE_SIZE,
              _continue: token,
            }),
          undefined,
          { verb: "list", resource: "pods" },
        );
        pods.push(...page.items);
        token = page.metadata?._continue || undefined;
      } while (token);
      return pods;
    },

    async events(involved) {
      const events: CoreV1Event[] = [];
      let token: string | undefined;
      let scanned = 0;
      do {
        const page = await limiter.schedule(
          () => core.listNamespacedEvent({ namespace, limit: PAGE_SIZE, _continue: token }),
          undefined,
          { verb: "list", resource: "events" },
        );
        scanned += page.items.length;
        for (const event of page.items) {
          if (involved.has(event.involvedObject.name ?? "")) events.push(event);
        }
        token = page.metadata?._continue || undefined;
      } while (token && scanned < MAX_EVENTS_SCANNED);
      return { events, complete: token === undefined };
    },

    async dryRunPod(pod) {
      try {
        await limiter.schedule(
          () => core.createNamespacedPod({ namespace, body: pod as V1Pod, dryRun: "All" }),
          undefined,
          { verb: "create", resource: "pods" },
        );
        return undefined;
      } catch (error) {
        return toKubeApiError(error).message;
      }
    },

    async review(permission) {
      const body: V1SelfSubjectAccessReview = {
        spec: {
          resourceAttributes: {
            verb: permission.verb,
            group: permission.group,
            resource: permission.resource,
            ...(permission.namespace ? { namespace: permission.namespace } : {}),
            ...(permission.name ? { name: permission.name } : {}),
          },
        },
      };
      try {
        const answer = await limiter.schedule(
          () => authorization.createSelfSubjectAccessReview({ body }),
          undefined,
          { verb: "create", resource: "selfsubjectaccessreviews" },
        );
        const status = answer.status;
        return {
          allowed: status?.allowed === true,
          reason: status?.reason ?? status?.evaluationError ?? "",
          error: "",
        };
      } catch (error) {
        return { allowed: false, reason: "", error: toKubeApiError(error).message };
      }
    },
  };
}
