// The names of pods in the namespace that are not this instance's: another instance's, or those
// of the provider this one replaces. getReturnRequests must tell "no pod of that name" (the host
// is gone) from "a pod we do not own" (never touched, not reported while it lives), and the pod
// cache holds only our own pods.
import type { CoreV1Api } from "@kubernetes/client-node";
import { LABEL_INSTANCE } from "../provider/model.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** Pods per list page. */
const PAGE_SIZE = 500;

/** Lists the names; concurrent callers share one list. */
export type ForeignPodNames = () => Promise<ReadonlySet<string>>;

export function createForeignPodNames(
  api: CoreV1Api,
  limiter: RateLimiter,
  namespace: string,
  instance: string,
): ForeignPodNames {
  // `!=` also matches pods without the label at all.
  const labelSelector = `${LABEL_INSTANCE}!=${instance}`;
  let listing: Promise<ReadonlySet<string>> | undefined;
  const listAll = async (): Promise<ReadonlySet<string>> => {
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await limiter.schedule(
        () =>
          api.listNamespacedPod({
            namespace,
            labelSelector,
            limit: PAGE_SIZE,
            ...(token ? { _continue: token } : {}),
          }),
        undefined,
        { verb: "list", resource: "pods" },
      );
      for (const pod of page.items) if (pod.metadata?.name) names.add(pod.metadata.name);
      token = page.metadata?._continue || undefined;
    } while (token);
    return names;
  };
  return () => {
    listing ??= listAll().finally(() => {
      listing = undefined;
    });
    return listing;
  };
}
