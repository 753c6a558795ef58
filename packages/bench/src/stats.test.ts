import { describe, expect, it } from 'vitest';
import {
  RULES,
  armMetric,
  compareArms,
  effectOf,
  formatDetectable,
  formatDiff,
  formatEffect,
  formatMeanStd,
  judgeEffect,
  judgeEquivalence,
  judgeNonInferiority,
  pairedDiffs,
  studentTCdf,
  studentTQuantile,
  summarize,
  verdictFromDiff,
} from './stats';

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

describe('paired effects, 95% intervals and the paired-95 rule', () => {
  it('studentTQuantile matches published t tables', () => {
    // t₀.₉₇₅ with df 1, 2, 4, 10, 30; t₀.₈₀ with df 2 (standard tables, 4+ digits).
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.3027, 4);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764, 4);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281, 4);
    expect(studentTQuantile(0.975, 30)).toBeCloseTo(2.0423, 4);
    expect(studentTQuantile(0.8, 2)).toBeCloseTo(1.0607, 4);
    expect(Math.abs(studentTQuantile(0.5, 7))).toBeLessThan(1e-6);
    expect(studentTCdf(-2.7764, 4)).toBeCloseTo(0.025, 4);
    expect(() => studentTQuantile(1, 3)).toThrow(/q/);
  });

  it('pairedDiffs pairs by seed; effectOf gives the t interval and the smallest detectable effect', () => {
    const runs = [run('a', 1, 0.8), run('a', 2, 0.9), run('a', 3, 0.7), run('b', 2, 0.85), run('b', 1, 0.7), run('b', 4, 0.1)];
    expect(pairedDiffs(runs, 'a', 'b', 'acc').map((d) => Number(d.toFixed(12)))).toEqual([0.1, 0.05]);
    const e = effectOf([0.1, 0.05, 0.09]);
    // mean 0.08, sd = sqrt(((0.02)² + (0.03)² + (0.01)²)/2) = sqrt(0.0007), se = sd/√3
    const se = Math.sqrt(0.0007) / Math.sqrt(3);
    expect(e.mean).toBeCloseTo(0.08, 12);
    expect(e.se).toBeCloseTo(se, 12);
    expect(e.lo).toBeCloseTo(0.08 - 4.302653 * se, 5);
    expect(e.hi).toBeCloseTo(0.08 + 4.302653 * se, 5);
    expect(e.detectable).toBeCloseTo((4.302653 + 1.060660) * se, 5);
    const one = effectOf([0.2]);
    expect([one.mean, one.n, Number.isNaN(one.lo), Number.isNaN(one.detectable)]).toEqual([0.2, 1, true, true]);
  });

  it('judgeEffect: reproduced, not reproduced, "not reproduced (effect < X at 95%)" and inconclusive', () => {
    const eff = (mean: number, lo: number, hi: number, n = 3) => ({ mean, se: 0.01, n, lo, hi, detectable: 0.05 });
    expect(judgeEffect({ effect: eff(0.03, 0.01, 0.05), direction: 'greater', minEffect: 0.005 }).verdict).toBe('reproduced');
    expect(judgeEffect({ effect: eff(0.03, 0.01, 0.05), direction: 'greater', minEffect: 0.04 }).verdict).toBe('inconclusive'); // below minEffect
    expect(judgeEffect({ effect: eff(-0.03, -0.05, -0.01), direction: 'greater' }).text).toBe('not reproduced');
    expect(judgeEffect({ effect: eff(-0.03, -0.05, -0.01), direction: 'less' }).verdict).toBe('reproduced');
    // The interval straddles 0 but excludes the paper's +7 points: a refutation at this scale.
    const r = judgeEffect({ effect: eff(0.005, -0.03, 0.04), direction: 'greater', paperEffect: 0.07, format: (x) => `${(100 * x).toFixed(1)} points` });
    expect(r).toEqual({ verdict: 'not reproduced', text: 'not reproduced (effect < 4.0 points at 95%)' });
    expect(judgeEffect({ effect: eff(0.005, -0.03, 0.08), direction: 'greater', paperEffect: 0.07 }).verdict).toBe('inconclusive');
    expect(judgeEffect({ effect: eff(0.5, NaN, NaN, 1), direction: 'greater' }).verdict).toBe('inconclusive'); // n = 1: no interval
    // No paired runs yet (arms of the profile not run): a plain "no verdict", not an "inconclusive" measurement.
    const none = effectOf([]);
    expect(judgeEffect({ effect: none, direction: 'greater' })).toEqual({ verdict: 'inconclusive', text: 'no verdict (arms not run)' });
    expect(judgeEquivalence(none, 0.02)).toEqual({ verdict: 'inconclusive', text: 'no verdict (arms not run)' });
    expect(judgeNonInferiority(none, 0.01)).toEqual({ verdict: 'inconclusive', text: 'no verdict (arms not run)' });
    expect(judgeEffect({ effect: eff(0.5, NaN, NaN, 1), direction: 'greater' }).text).toBe('inconclusive');
    expect(() => judgeEffect({ effect: eff(0, -1, 1), direction: 'up' as 'less' })).toThrow(/direction/);
    expect(() => judgeEffect({ effect: eff(0, -1, 1), direction: 'less', paperEffect: -1 })).toThrow(/paperEffect/);
  });

  it('judgeEquivalence and judgeNonInferiority use the whole 95% interval', () => {
    const eff = (lo: number, hi: number) => ({ mean: (lo + hi) / 2, se: 0.01, n: 3, lo, hi, detectable: 0.05 });
    expect(judgeEquivalence(eff(-0.01, 0.015), 0.02).verdict).toBe('reproduced');
    expect(judgeEquivalence(eff(0.01, 0.03), 0.02).verdict).toBe('inconclusive');
    expect(judgeEquivalence(eff(0.025, 0.03), 0.02).verdict).toBe('not reproduced');
    expect(judgeNonInferiority(eff(-0.005, 0.01), 0.01).verdict).toBe('reproduced');
    expect(judgeNonInferiority(eff(-0.02, 0.01), 0.01).verdict).toBe('inconclusive');
    expect(judgeNonInferiority(eff(-0.03, -0.02), 0.01).verdict).toBe('not reproduced');
    expect(RULES['paired-95']).toMatch(/effect < X at 95%/);
  });

  it('formatEffect and formatDetectable show n=1 the same way everywhere (no ± 0)', () => {
    const e = effectOf([0.01, 0.02, 0.03]);
    expect(formatEffect(e, { scale: 100, unit: ' points' })).toMatch(/^\+2\.00 points, 95% CI \[−0\.48, \+4\.48\] \(n=3 paired seeds\)$/);
    expect(formatEffect(effectOf([-0.012]), { scale: 100, unit: ' points' })).toBe('−1.20 points (n=1, no interval)');
    expect(formatDetectable(effectOf([0.1]))).toBe('n/a (n=1)');
    expect(formatMeanStd([0.5], 2, 100)).toBe('50.00 (n=1)');
    expect(formatDiff({ diff: 0.1, se: NaN, nA: 1, nB: 1 }, 2, 100)).toBe('+10.00 (n=1 vs 1)');
  });
});
