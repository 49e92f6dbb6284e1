// Seeds of the randomised reliability tests. Each run draws a fresh seed and prints it; setting
// HOSTFACTORY_TEST_SEED to a printed seed replays that run (fault schedule, workload, fast-check
// cases).
import { randomInt } from "node:crypto";

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

/** A small deterministic generator (mulberry32): numbers in [0, 1) from a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
