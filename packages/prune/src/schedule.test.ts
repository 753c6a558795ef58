import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TrainkitError } from '@trainkit/core';
import { constantSparsity, isPruningSchedule, polynomialDecay, pruningScheduleFromConfig } from './schedule';

// Float64 reference of TF-MOT's documented semantics (pruning_schedule.py):
// update iff begin <= step <= end (end = -1: open) and (step - begin) % frequency == 0;
// PolynomialDecay: p = clamp((step - begin)/(end - begin), 0, 1), s = final + (initial - final)(1 - p)^power.
const refUpdate = (step: number, begin: number, end: number, freq: number): boolean =>
  step >= begin && (end === -1 || step <= end) && (step - begin) % freq === 0;
const refPoly = (step: number, i: number, f: number, begin: number, end: number, power: number): number => {
  const p = Math.min(1, Math.max(0, (step - begin) / (end - begin)));
  return f + (i - f) * (1 - p) ** power;
};

describe('pruning schedules', () => {
  it('polynomialDecay follows the reference at every step, holds final past endStep, updates every frequency steps', () => {
    const s = polynomialDecay({ initialSparsity: 0.1, finalSparsity: 0.9, beginStep: 10, endStep: 110, frequency: 20 });
    for (let t = 0; t <= 200; t++) {
      expect(Math.abs(s.sparsity(t) - refPoly(t, 0.1, 0.9, 10, 110, 3))).toBeLessThanOrEqual(1e-12);
      expect(s.isUpdateStep(t)).toBe(refUpdate(t, 10, 110, 20));
    }
    // Hand-worked: t = 60 → p = 0.5 → 0.9 + (0.1 − 0.9)·0.125 = 0.8; updates at 10, 30, …, 110 only.
    expect(Math.abs(s.sparsity(60) - 0.8)).toBeLessThan(1e-12);
    expect(s.sparsity(500)).toBe(0.9);
    expect([...Array(201).keys()].filter((t) => s.isUpdateStep(t))).toEqual([10, 30, 50, 70, 90, 110]);
    expect(s.finalSparsity).toBe(0.9);
  });

  it('constantSparsity: TF-MOT defaults (begin 0, end −1, frequency 100)', () => {
    const s = constantSparsity({ sparsity: 0.5 });
    expect(s.getConfig()).toEqual({ kind: 'constantSparsity', sparsity: 0.5, beginStep: 0, endStep: -1, frequency: 100 });
    expect([0, 100, 1e6].map((t) => s.isUpdateStep(t))).toEqual([true, true, true]);
    expect(s.isUpdateStep(50)).toBe(false);
    expect(s.sparsity(12345)).toBe(0.5);
    const bounded = constantSparsity({ sparsity: 0.5, beginStep: 5, endStep: 25, frequency: 10 });
    expect([...Array(40).keys()].filter((t) => bounded.isUpdateStep(t))).toEqual([5, 15, 25]);
  });

  it('is JSON-serializable: JSON round trip rebuilds the same schedule', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 7 }),
        (a, b, begin, len, freq) => {
          const s = polynomialDecay({ initialSparsity: a, finalSparsity: b, beginStep: begin, endStep: begin + len, frequency: freq, power: 2 });
          const r = pruningScheduleFromConfig(JSON.parse(JSON.stringify(s)));
          for (let t = 0; t < 120; t += 3) {
            expect(r.sparsity(t)).toBe(s.sparsity(t));
            expect(r.isUpdateStep(t)).toBe(s.isUpdateStep(t));
            // Monotone from initial to final, inside [0, 1).
            const v = s.sparsity(t);
            expect(v >= Math.min(a, b) - 1e-12 && v <= Math.max(a, b) + 1e-12 && v < 1).toBe(true);
          }
        },
      ),
      { seed: 18, numRuns: 40 },
    );
    expect(isPruningSchedule(constantSparsity({ sparsity: 0 }))).toBe(true);
    expect(isPruningSchedule({})).toBe(false);
  });

  it('rejects beginStep > endStep, frequency < 1, sparsities outside [0, 1), unknown kinds', () => {
    const bad: Array<() => unknown> = [
      () => polynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 10, endStep: 5 }),
      () => constantSparsity({ sparsity: 0.5, beginStep: 10, endStep: 5 }),
      () => constantSparsity({ sparsity: 0.5, frequency: 0 }),
      () => polynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 0, endStep: 5, frequency: 0.5 }),
      () => constantSparsity({ sparsity: 1 }),
      () => constantSparsity({ sparsity: -0.1 }),
      () => polynomialDecay({ initialSparsity: 0, finalSparsity: 1, beginStep: 0, endStep: 5 }),
      () => polynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 0, endStep: 5, power: 0 }),
      () => pruningScheduleFromConfig({ kind: 'cubic' } as never),
      () => constantSparsity({ sparsity: 0.5 }).sparsity(-1),
    ];
    for (const f of bad) expect(f).toThrow(TrainkitError);
    expect(() => polynomialDecay({ initialSparsity: 0, finalSparsity: 0.5, beginStep: 10, endStep: 5 })).toThrow(/endStep.*>= beginStep \(10\).*received 5/);
    expect(() => constantSparsity({ sparsity: 0.5, frequency: 0 })).toThrow(/frequency/);
  });
});
