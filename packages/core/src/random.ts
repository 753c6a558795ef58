import { checkNumber, invalidArgument } from './errors';

/** A small seeded pseudo-random generator (mulberry32); identical draws on every platform. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array;
  /** A fresh seed in [1, 2^31 - 1] for a tfjs random op (tfjs treats a falsy seed as unseeded). */
  nextSeed(): number;
}

const MAX_SEED = 2 ** 31 - 1;

/**
 * Checks a user seed: a non-zero safe integer.
 *
 * @param seed - the seed
 * @param argument - argument name for the error
 * @throws {@link TrainkitError} when `seed` is 0 (tfjs reads a falsy seed as "random"), not an integer, or unsafe
 */
export function checkSeed(seed: unknown, argument = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed === 0) {
    throw invalidArgument(argument, seed, 'a non-zero safe integer (tfjs treats 0 as "unseeded")');
  }
  return seed;
}

/**
 * Creates a seeded generator.
 *
 * @param seed - a non-zero safe integer
 * @returns a new {@link Rng}; it holds no tensors
 * @throws {@link TrainkitError} on a bad seed
 * @example
 * ```ts
 * const r = rng(42); r.shuffle(indices);
 * ```
 */
export function rng(seed: number): Rng {
  let state = mix32(checkSeed(seed)) >>> 0;
  let spare: number | null = null;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (maxExclusive: number): number => {
    checkNumber('maxExclusive', maxExclusive, { integer: true, min: 1 });
    return Math.floor(next() * maxExclusive);
  };
  return {
    next,
    int,
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = items[i] as T;
        items[i] = items[j] as T;
        items[j] = tmp;
      }
      return items;
    },
    permutation(n: number): Int32Array {
      checkNumber('n', n, { integer: true, min: 0 });
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = p[i] as number;
        p[i] = p[j] as number;
        p[j] = tmp;
      }
      return p;
    },
    nextSeed() {
      return 1 + Math.floor(next() * (MAX_SEED - 1));
    },
  };
}

/**
 * Derives an independent seed from a base seed and any parts (step, slot, name…).
 *
 * @param seed - the base seed (non-zero safe integer)
 * @param parts - numbers or strings that identify the use, e.g. `('dropout', step)`
 * @returns a seed in [1, 2^31 - 1], the same for the same inputs on every platform
 * @example
 * ```ts
 * tf.randomNormal([3], 0, 1, 'float32', deriveSeed(seed, 'noise', step));
 * ```
 */
export function deriveSeed(seed: number, ...parts: Array<number | string>): number {
  checkSeed(seed);
  let h = mix32((seed >>> 0) ^ Math.floor(seed / 2 ** 32));
  for (const part of parts) {
    const s = typeof part === 'number' ? `n${part}` : `s${part}`;
    for (let i = 0; i < s.length; i++) {
      h = mix32(h ^ s.charCodeAt(i));
    }
    h = mix32(h ^ 0x9e3779b9);
  }
  return 1 + ((h >>> 0) % (MAX_SEED - 1));
}

function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
