import { randomInt } from "node:crypto";

/**
 * The one source of randomness of a simulator (fault draws, start jitter, generateName suffixes,
 * uids), so that a `seed` makes a whole run repeatable.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, max). */
  int(max: number): number;
  /** `count` lowercase hex digits. */
  hex(count: number): string;
  /** A random RFC 4122 version 4 UUID. */
  uuid(): string;
}

/** The alphabet and length the API server's generateName uses (no vowels, no look-alikes). */
const NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
export const NAME_SUFFIX_LENGTH = 5;

/** Without a seed, draws come from the OS; with one, from mulberry32 (small, fast, good enough). */
export function createRandom(seed?: number): Random {
  const next =
    seed === undefined ? () => randomInt(0x1_0000_0000) / 0x1_0000_0000 : mulberry32(seed);
  const int = (max: number) => Math.floor(next() * max);
  const hex = (count: number) => {
    let out = "";
    for (let i = 0; i < count; i++) out += int(16).toString(16);
    return out;
  };
  return {
    next,
    int,
    hex,
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[int(4)]}${hex(3)}-${hex(12)}`,
  };
}

/**
 * Independent streams of one seed, one per consumer: what the scheduler or a kubelet draws, and
 * when (timers run in whatever order the event loop gives), never shifts the names the API hands
 * out, so a seed repeats a run's names and placements however its timers interleave.
 */
export function createRandomStreams(seed?: number): (stream: string) => Random {
  return (stream) => {
    if (seed === undefined) return createRandom();
    let hash = seed >>> 0;
    for (let i = 0; i < stream.length; i++)
      hash = Math.imul(hash ^ stream.charCodeAt(i), 0x9e3779b1);
    return createRandom(hash >>> 0);
  };
}

export function nameSuffix(random: Random): string {
  let out = "";
  for (let i = 0; i < NAME_SUFFIX_LENGTH; i++) {
    out += NAME_SUFFIX_ALPHABET[random.int(NAME_SUFFIX_ALPHABET.length)];
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
