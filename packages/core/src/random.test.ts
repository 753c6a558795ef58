import { describe, expect, it } from 'vitest';
import { deriveSeed, rng } from './random';

describe('rng and deriveSeed', () => {
  it('the same seed gives the same draws; different seeds differ', () => {
    const a = rng(42);
    const b = rng(42);
    const c = rng(43);
    const da = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(da);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(da);
    for (const v of da) expect(v >= 0 && v < 1).toBe(true);
  });

  it('permutation is a permutation and shuffle keeps the multiset', () => {
    const p = Array.from(rng(1).permutation(50));
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const s = rng(2).shuffle([1, 2, 2, 3]);
    expect([...s].sort()).toEqual([1, 2, 2, 3]);
  });

  it('normal draws have mean ~0 and variance ~1', () => {
    const r = rng(9);
    const n = 20000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      sum += v;
      sq += v * v;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.03); // std of the mean is 1/sqrt(n) ≈ 0.007
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
  });

  it('deriveSeed is deterministic, in [1, 2^31-1], and separates its parts', () => {
    expect(deriveSeed(7, 'a', 1)).toBe(deriveSeed(7, 'a', 1));
    const seeds = new Set<number>();
    for (let step = 0; step < 1000; step++) seeds.add(deriveSeed(7, 'noise', step));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(7, 'a', 12)).not.toBe(deriveSeed(7, 'a1', 2));
    expect(deriveSeed(7, 1)).not.toBe(deriveSeed(7, '1'));
    for (const s of seeds) expect(s >= 1 && s <= 2 ** 31 - 1).toBe(true);
  });

  it('rejects seed 0 and non-integers (tfjs treats 0 as unseeded)', () => {
    expect(() => rng(0)).toThrow(/seed must be a non-zero safe integer/);
    expect(() => rng(1.5)).toThrow(/received 1.5/);
    expect(() => deriveSeed(0, 'x')).toThrow(/seed/);
  });
});
