import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constantSchedule,
  cosineSchedule,
  linearWarmup,
  piecewiseSchedule,
  scheduleFromConfig,
  stepDecaySchedule,
  toSchedule,
} from './schedule';

describe('schedules', () => {
  it('cosine: from at 0, midpoint at steps/2, to at steps and after', () => {
    const s = cosineSchedule({ from: 1, to: 0.2, steps: 100 });
    expect(s.at(0)).toBeCloseTo(1, 12);
    expect(s.at(50)).toBeCloseTo(0.6, 12); // 0.2 + 0.8 * (1 + cos(pi/2)) / 2
    expect(s.at(100)).toBeCloseTo(0.2, 12);
    expect(s.at(1000)).toBeCloseTo(0.2, 12);
  });

  it('step decay: initial * factor^floor(step/every)', () => {
    const s = stepDecaySchedule({ initial: 0.1, factor: 0.5, every: 10 });
    expect(s.at(9)).toBeCloseTo(0.1, 12);
    expect(s.at(10)).toBeCloseTo(0.05, 12);
    expect(s.at(25)).toBeCloseTo(0.025, 12);
  });

  it('linear warm-up ramps to then.at(0) and then runs then shifted', () => {
    const s = linearWarmup({ steps: 10, then: cosineSchedule({ from: 1, steps: 20 }) });
    expect(s.at(0)).toBe(0);
    expect(s.at(5)).toBeCloseTo(0.5, 12);
    expect(s.at(10)).toBeCloseTo(1, 12);
    expect(s.at(20)).toBeCloseTo(0.5, 12); // cosine at its own step 10 of 20
  });

  it('piecewise restarts each piece at its boundary', () => {
    const s = piecewiseSchedule([constantSchedule(3), stepDecaySchedule({ initial: 1, factor: 0.1, every: 5 })], [10]);
    expect(s.at(9)).toBe(3);
    expect(s.at(10)).toBe(1);
    expect(s.at(15)).toBeCloseTo(0.1, 12);
  });

  it('config round-trips to an equal schedule', () => {
    const s = linearWarmup({ steps: 7, from: 0.01, then: piecewiseSchedule([cosineSchedule({ from: 0.5, to: 0.1, steps: 30 }), constantSchedule(0.1)], [30]) });
    const back = scheduleFromConfig(JSON.parse(JSON.stringify(s.getConfig())));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), (step) => back.at(step) === s.at(step)),
      { seed: 11, numRuns: 50 },
    );
  });

  it('cosine decay is monotone and stays in [to, from]', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 600 }), (to, steps, step) => {
        const s = cosineSchedule({ from: 1, to, steps });
        const a = s.at(step);
        const b = s.at(step + 1);
        return b <= a + 1e-15 && a <= 1 + 1e-15 && a >= to - 1e-15;
      }),
      { seed: 5, numRuns: 50 },
    );
  });

  it('rejects bad arguments with the argument name', () => {
    expect(() => cosineSchedule({ from: 1, steps: 0 })).toThrow(/steps must be an integer >= 1; received 0/);
    expect(() => stepDecaySchedule({ initial: 1, factor: -1, every: 1 })).toThrow(/factor/);
    expect(() => piecewiseSchedule([constantSchedule(1), constantSchedule(2)], [0])).toThrow(/boundaries/);
    expect(() => constantSchedule(1).at(-1)).toThrow(/step must be/);
    expect(() => toSchedule('momentum', 'x' as unknown as number)).toThrow(/momentum must be a number or a Schedule/);
    expect(() => scheduleFromConfig({ kind: 'nope' } as never)).toThrow(/config.kind/);
  });
});
