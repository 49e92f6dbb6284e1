// Seeds of the randomised tests. Each run draws a fresh seed and prints it; setting
// HOSTFACTORY_TEST_SEED to a printed seed replays that run (fault schedule, workload, fast-check
// cases).
import { randomInt } from "node:crypto";
import { createRandom } from "../../sidecar/simulator/random.ts";

export const SEED_ENV = "HOSTFACTORY_TEST_SEED";

/** The seed to use: HOSTFACTORY_TEST_SEED when set, else a fresh random one. */
export function testSeed(): number {
  const given = process.env[SEED_ENV];
  if (given === undefined || given === "") return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`${SEED_ENV} must be an integer seed as printed by a test, found '${given}'`);
  }
  return seed;
}

/** Numbers in [0, 1) from a seed: the simulator's own seeded generator. */
export function seededRandom(seed: number): () => number {
  return createRandom(seed).next;
}
