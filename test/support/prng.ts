/**
 * The one seeded PRNG of the test code (mulberry32): deterministic, so a failing fuzz or robustness
 * case names a seed that reproduces it. Math.random would make failures unrepeatable.
 */

/** A generator of numbers in [0, 1). */
export type Rng = () => number;

export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whole numbers in [0, 2^32), from the same generator. */
export function seededU32(seed: number): () => number {
  const next = seeded(seed);
  return () => Math.floor(next() * 0x100000000);
}
