/** Seeded randomness for tests, soak runs and the benchmark: reproducible from a printed seed. */
export type Rng = () => number

/** mulberry32: small, fast, and the same sequence on every platform for a given seed */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
