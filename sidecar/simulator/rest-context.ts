import type { Pod } from "./object-types.ts";
import type { Random } from "./random.ts";
import type { Store } from "./store.ts";

/** What every REST handler works with: the store it writes, the clock and the randomness. */
export interface RestContext {
  store: Store;
  random: Random;
  now: () => Date;
  /** tolerationSeconds of the not-ready/unreachable tolerations added to every pod. */
  defaultTolerationSeconds: number;
  /** The validating admission a pod create goes through last (ResourceQuota); throws to refuse. */
  admitPod?: (namespace: string, pod: Pod, dryRun: boolean) => void;
}

export interface WriteOptions {
  dryRun?: boolean;
}
