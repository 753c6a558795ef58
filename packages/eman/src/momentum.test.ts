import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrainkitError, scheduleFromConfig } from '@trainkit/core';
import { byolMomentum, constantMomentum } from './momentum';

describe('momentum schedules', () => {
  it('constantMomentum is the same at every step and defaults to 0.999', () => {
    expect(constantMomentum().at(0)).toBe(0.999);
    expect(constantMomentum(0.99).at(12345)).toBe(0.99);
    expect(() => constantMomentum(1.01)).toThrow(TrainkitError);
  });

  it('byolMomentum: m(0) = m0, m(T/2) = (1 + m0)/2, m(T) = 1, 1 after T', () => {
    const s = byolMomentum({ base: 0.98, totalSteps: 100 });
    expect(s.at(0)).toBeCloseTo(0.98, 12);
    expect(s.at(50)).toBeCloseTo((1 + 0.98) / 2, 12);
    expect(s.at(100)).toBeCloseTo(1, 12);
    expect(s.at(1000)).toBeCloseTo(1, 12);
    // m_t = 1 − (1 − m0)(cos(πt/T) + 1)/2 at t = 25: 1 − 0.02·(cos(π/4) + 1)/2
    expect(s.at(25)).toBeCloseTo(1 - (0.02 * (Math.SQRT1_2 + 1)) / 2, 12);
    expect(byolMomentum({ totalSteps: 10 }).at(0)).toBeCloseTo(0.996, 12);
  });

  it('byolMomentum is non-decreasing, inside [m0, 1], and round-trips through its config (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 500 }), (base, totalSteps) => {
        const s = byolMomentum({ base, totalSteps });
        const r = scheduleFromConfig(s.getConfig());
        let prev = -Infinity;
        for (let t = 0; t <= totalSteps + 2; t += Math.max(1, Math.floor(totalSteps / 17))) {
          const m = s.at(t);
          expect(m).toBeGreaterThanOrEqual(prev - 1e-15);
          expect(m).toBeGreaterThanOrEqual(base - 1e-12);
          expect(m).toBeLessThanOrEqual(1 + 1e-12);
          expect(r.at(t)).toBe(m);
          prev = m;
        }
      }),
      { seed: 11, numRuns: 50 },
    );
  });

  it('rejects bad arguments', () => {
    expect(() => byolMomentum({ base: -0.1, totalSteps: 10 })).toThrow(TrainkitError);
    expect(() => byolMomentum({ totalSteps: 0 })).toThrow(/totalSteps/);
    expect(() => byolMomentum({ totalSteps: 2.5 })).toThrow(TrainkitError);
  });
});
