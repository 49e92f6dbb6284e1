// What every benchmark is given: its size, the rate limits, scratch space and the bare-node floor.
import type { TimedRun } from "./_cluster.ts";

export interface BenchContext {
  smoke: boolean;
  runs: number;
  latencyMs: number;
  qps: number;
  burst: number;
  /** The rate limit while a benchmark builds up state it does not measure. */
  setupQps: number;
  /** Scratch space, removed at the end. */
  dir: string;
  /** `node -e 0`, the floor every script is compared with. */
  bareNode(): Promise<TimedRun>;
  log(message: string): void;
}
