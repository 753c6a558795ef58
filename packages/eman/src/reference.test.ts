import { describe, expect, it } from 'vitest';
import { fixMatchEmanReference } from './reference';

describe('fixMatchEmanReference', () => {
  it("holds the reference code's FixMatch-EMAN defaults and cannot be changed", () => {
    expect(fixMatchEmanReference).toEqual({ threshold: 0.7, unlabeledWeight: 10, mu: 5, momentum: 0.999, weightDecay: 1e-4, lr: 0.03, sgdMomentum: 0.9, labeledBatch: 64 });
    expect(Object.isFrozen(fixMatchEmanReference)).toBe(true);
    expect(() => {
      (fixMatchEmanReference as { threshold: number }).threshold = 0.95;
    }).toThrow(TypeError);
  });
});
