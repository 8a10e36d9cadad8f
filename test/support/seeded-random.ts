/**
 * Reproducible randomness for tests that draw sizes, timings and choices: one seed per run, printed,
 * and taken from STOWAGE_TEST_SEED when given so a failing run can be replayed exactly.
 */
export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast, and good enough to spread test inputs. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
  };
}

/** The run's seed: STOWAGE_TEST_SEED, or a fresh one; printed with how to replay it. */
export function testSeed(label: string): SeededRandom {
  const given = process.env.STOWAGE_TEST_SEED;
  const seed = given ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  console.log(`[${label}] seed ${seed} (replay: STOWAGE_TEST_SEED=${seed})`);
  return seededRandom(seed);
}
