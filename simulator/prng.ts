/** A small seeded PRNG (mulberry32): the same seed gives the same fleet and the same behaviour. */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `count` hex digits. */
  hex(count: number): string;
  /** A new independent generator derived from this one. */
  fork(): Prng;
}

export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const prng: Prng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    hex: (count) => {
      let out = '';
      for (let i = 0; i < count; i++) out += Math.floor(next() * 16).toString(16);
      return out;
    },
    fork: () => createPrng(Math.floor(next() * 4294967296)),
  };
  return prng;
}
