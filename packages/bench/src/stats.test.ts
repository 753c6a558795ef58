import { describe, expect, it } from 'vitest';
import { armMetric, compareArms, formatDiff, formatMeanStd, summarize, verdictFromDiff } from './stats';

const run = (armId: string, seed: number, acc: number) => ({ armId, seed, metrics: { acc } });

describe('stats', () => {
  it('summarize: mean and sample std (n − 1), ignoring non-finite values', () => {
    const s = summarize([1, 2, 3, 4, NaN]);
    expect(s.n).toBe(4);
    expect(s.mean).toBe(2.5);
    expect(s.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(summarize([7])).toEqual({ mean: 7, std: 0, n: 1 });
    expect(summarize([]).n).toBe(0);
  });

  it('armMetric and compareArms: Welch standard error over seeds', () => {
    const runs = [run('a', 2, 0.9), run('a', 1, 0.8), run('b', 1, 0.7), run('b', 2, 0.6), run('b', 3, 0.5), run('c', 1, 0.1)];
    expect(armMetric(runs, 'a', 'acc')).toEqual([0.8, 0.9]);
    const c = compareArms(runs, 'a', 'b', 'acc');
    expect(c.diff).toBeCloseTo(0.85 - 0.6, 12);
    // sA² = 0.005, sB² = 0.01 → se = sqrt(0.005/2 + 0.01/3)
    expect(c.se).toBeCloseTo(Math.sqrt(0.0025 + 0.01 / 3), 12);
    expect([c.nA, c.nB]).toEqual([2, 3]);
    expect(Number.isNaN(compareArms(runs, 'a', 'c', 'acc').se)).toBe(true);
    expect(formatMeanStd([0.8, 0.9], 2, 100)).toBe('85.00 ± 7.07 (n=2)');
    expect(formatDiff(c, 2, 100)).toMatch(/^\+25\.00 ± \d+\.\d\d SE \(n=2 vs 3\)$/);
  });

  it('verdictFromDiff with a standard error: sign, 2 SE and minEffect', () => {
    expect(verdictFromDiff({ diff: 0.05, se: 0.01, direction: 'greater', minEffect: 0.01 })).toBe('reproduced');
    expect(verdictFromDiff({ diff: 0.05, se: 0.01, direction: 'greater', minEffect: 0.1 })).toBe('inconclusive'); // below minEffect
    expect(verdictFromDiff({ diff: 0.015, se: 0.01, direction: 'greater' })).toBe('inconclusive'); // within 2 SE
    expect(verdictFromDiff({ diff: -0.05, se: 0.01, direction: 'greater' })).toBe('not reproduced');
    expect(verdictFromDiff({ diff: -0.015, se: 0.01, direction: 'greater' })).toBe('inconclusive');
    expect(verdictFromDiff({ diff: -0.05, se: 0.01, direction: 'less' })).toBe('reproduced');
    expect(verdictFromDiff({ diff: 0.05, se: 0.01, direction: 'less' })).toBe('not reproduced');
    expect(verdictFromDiff({ diff: 0, se: 0, direction: 'greater' })).toBe('inconclusive');
    expect(verdictFromDiff({ diff: NaN, se: 0.1, direction: 'greater' })).toBe('inconclusive');
  });

  it('verdictFromDiff without a standard error (n < 2): sign and minEffect only', () => {
    expect(verdictFromDiff({ diff: 0.02, se: NaN, direction: 'greater', minEffect: 0.01 })).toBe('reproduced');
    expect(verdictFromDiff({ diff: 0.005, direction: 'greater', minEffect: 0.01 })).toBe('inconclusive');
    expect(verdictFromDiff({ diff: -0.005, direction: 'greater', minEffect: 0.01 })).toBe('inconclusive');
    expect(verdictFromDiff({ diff: -0.02, direction: 'greater', minEffect: 0.01 })).toBe('not reproduced');
    expect(() => verdictFromDiff({ diff: 1, direction: 'up' as 'less' })).toThrow(/direction/);
    expect(() => verdictFromDiff({ diff: 1, direction: 'less', minEffect: -1 })).toThrow(/minEffect/);
  });
});
