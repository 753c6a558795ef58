import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { expectNoLeak, seededArray, tf } from '@trainkit/test-utils';
import { weightCorrelation, weightCorrelations } from './correlation';

const FC = { seed: 4242, numRuns: 40 };
const map = (entries: Array<[string, tf.Tensor]>): Map<string, tf.Tensor> => new Map(entries);

describe('weightCorrelation (R_p, Eq. 1)', () => {
  it('hand-worked example: one layer, p = 0.5', () => {
    // a: |w| = [4, 3, 2, 1] → top-2 = {0, 1}; b: |w| = [1, 5, 6, 0] → top-2 = {2, 1}; overlap {1} → 1/2.
    const a = tf.tensor1d([4, -3, 2, 1]);
    const b = tf.tensor1d([1, 5, -6, 0]);
    expect(weightCorrelation(map([['w', a]]), map([['w', b]]), 0.5)).toBe(0.5);
    // p = 0.75: top-3 of a = {0,1,2}, of b = {2,1,0} → 3/3.
    expect(weightCorrelation(map([['w', a]]), map([['w', b]]), 0.75)).toBe(1);
    // Two layers: the second (N=2, k=1) overlaps fully. Σ|∩| = 1 + 1 over Σk = 2 + 1.
    const c = tf.tensor1d([1, 2]);
    expect(weightCorrelation(map([['w', a], ['v', c]]), map([['w', b], ['v', c]]), 0.5)).toBeCloseTo(2 / 3, 12);
    tf.dispose([a, b, c]);
  });

  it('ties are broken by the lower index (deterministic)', () => {
    const a = tf.ones([6]);
    const b = tf.tensor1d([0, 0, 0, 1, 1, 1]);
    // top-3 of a = {0,1,2}; of b = {3,4,5} → 0.
    expect(weightCorrelation(map([['w', a]]), map([['w', b]]), 0.5)).toBe(0);
    tf.dispose([a, b]);
  });

  it("masks, pOf 'mask': only unmasked entries are ranked and counted", () => {
    const a = tf.tensor1d([9, 8, 1, 2, 3, 4]);
    const b = tf.tensor1d([0, 0, 4, 3, 2, 1]);
    const m = tf.tensor1d([0, 0, 1, 1, 1, 1]);
    // Inside the mask: a ranks {5,4,3,2}, b ranks {2,3,4,5}; p = 0.5 → k = 2: {5,4} vs {2,3} → 0.
    expect(weightCorrelation(map([['w', a]]), map([['w', b]]), 0.5, map([['w', m]]), { pOf: 'mask' })).toBe(0);
    expect(weightCorrelation(map([['w', a]]), map([['w', b]]), 1, map([['w', m]]), { pOf: 'mask' })).toBe(1);
    tf.dispose([a, b, m]);
  });

  it("masks, pOf 'layer' (Table 1 / App. F): p of the whole layer, both sides ranked over the whole layer", () => {
    const dense = tf.tensor1d([9, 8, 1, 2, 3, 4, 0.5, 7]);
    const sparse = tf.tensor1d([0, 0, 4, 3, 2, 1, 0, 5]);
    const m = tf.tensor1d([0, 0, 1, 1, 1, 1, 0, 1]);
    // N = 8, p = 0.25 → k = 2. dense top-2 = {0 (9), 1 (8)}; sparse top-2 = {7 (5), 2 (4)} → 0/2.
    expect(weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.25, map([['w', m]]), { pOf: 'layer' })).toBe(0);
    // p = 0.5 → k = 4: dense {0, 1, 7, 5}; sparse {7, 2, 3, 4} → {7} = 1/4.
    expect(weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.5, map([['w', m]]), { pOf: 'layer' })).toBe(0.25);
    // 'auto' sees the dense side (non-zero where m = 0) and picks 'layer'.
    expect(weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.5, map([['w', m]]))).toBe(0.25);
    // Inside the mask instead: kept = {2,3,4,5,7}, k = ⌈0.5·5⌉ = 3: dense {7, 5, 4}; sparse {7, 2, 3} → 1/3.
    expect(weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.5, map([['w', m]]), { pOf: 'mask' })).toBeCloseTo(1 / 3, 12);
    // p above the kept fraction 5/8 is refused with 'layer'.
    expect(() => weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.75, map([['w', m]]), { pOf: 'layer' })).toThrow(/kept fraction 0\.6250/);
    expect(() => weightCorrelation(map([['w', dense]]), map([['w', sparse]]), 0.5, map([['w', m]]), { pOf: 'x' as 'layer' })).toThrow(/pOf/);
    tf.dispose([dense, sparse, m]);
  });

  it("pOf 'auto' with two sparse sides of the same mask ranks inside the mask", () => {
    const a = tf.tensor1d([0, 5, 0, 1, 2]);
    const b = tf.tensor1d([0, 1, 0, 5, 2]);
    const m = tf.tensor1d([0, 1, 0, 1, 1]);
    // Inside the mask (3 kept), p = 1/3 → k = 1: a {1}, b {3} → 0; p = 2/3 → k = 2: a {1, 4}, b {3, 4} → 1/2.
    expect(weightCorrelations(map([['w', a]]), map([['w', b]]), [1 / 3, 2 / 3], map([['w', m]]))).toEqual([0, 0.5]);
    tf.dispose([a, b, m]);
  });

  it('E[R_p] = p for independent tensors (N = 1e5, |R − p| < 0.01)', () => {
    const a = tf.tensor1d(seededArray(1, 100_000));
    const b = tf.tensor1d(seededArray(2, 100_000));
    const ps = [0.1, 0.2, 0.3, 0.4, 0.5];
    const rs = weightCorrelations(map([['w', a]]), map([['w', b]]), ps);
    // Binomial-ish sd of the overlap fraction: sqrt(p(1−p)/N)·… ≈ 0.002 at N = 1e5.
    rs.forEach((r, i) => expect(Math.abs(r - (ps[i] as number))).toBeLessThan(0.01));
    tf.dispose([a, b]);
  });

  it('accepts a model on one side (its conv/dense kernels) and a snapshot map on the other', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.dense({ units: 2 })] });
    const snap = new Map(model.weights.map((w) => [w.name, tf.clone(w.read())]));
    expect(weightCorrelation(snap, model, 0.3)).toBe(1);
    expect(() => weightCorrelation(new Map(), model, 0.3)).toThrow(/has no tensor/);
    for (const t of snap.values()) t.dispose();
    model.dispose();
  });

  it('rejects p outside (0, 1], mismatched names and shapes', () => {
    const a = tf.ones([3]);
    const b = tf.ones([4]);
    for (const p of [0, -0.1, 1.01, Number.NaN]) expect(() => weightCorrelation(map([['w', a]]), map([['w', a]]), p)).toThrow(/p must/);
    expect(() => weightCorrelation(map([['w', a]]), map([['v', a]]), 0.5)).toThrow(/same tensors/);
    expect(() => weightCorrelation(map([['w', a]]), map([['w', b]]), 0.5)).toThrow(/shape/);
    expect(() => weightCorrelation(map([['w', a]]), map([['w', a]]), 0.5, map([['x', a]]))).toThrow(/masks/);
    tf.dispose([a, b]);
  });

  const layers = fc.array(
    fc.integer({ min: 1, max: 40 }).chain((n) => fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: n, maxLength: n })),
    { minLength: 1, maxLength: 3 },
  );
  const asMap = (ls: number[][], f: (v: number) => number): Map<string, tf.Tensor> =>
    new Map(ls.map((l, i) => [`l${i}`, tf.tensor1d(l.map(f))]));
  const free = (m: Map<string, tf.Tensor>): void => m.forEach((t) => t.dispose());

  it('property: R_p(θ,θ) = 1, R_1 = 1, invariant to scale c > 0 and to sign, symmetric, in [0, 1]; no leaks', async () => {
    await expectNoLeak(() =>
      fc.assert(
        fc.property(layers, layers, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.constantFrom(0.5, 2, 8, 1024), (l1, l2Raw, p, c) => {
          // Magnitudes are integers with distinct values scaled by a power of two: exact in float32, no new ties.
          const a = asMap(l1, (v) => v / 8);
          const scaled = asMap(l1, (v) => (v / 8) * c);
          const negated = asMap(l1, (v) => -v / 8);
          const l2 = l1.map((l, i) => Array.from({ length: l.length }, (_, j) => l2Raw[i % l2Raw.length]?.[j % (l2Raw[i % l2Raw.length]?.length ?? 1)] ?? 0));
          const b = asMap(l2, (v) => v);
          expect(weightCorrelation(a, a, p)).toBe(1);
          expect(weightCorrelation(a, b, 1)).toBe(1);
          expect(weightCorrelation(a, scaled, p)).toBe(1);
          expect(weightCorrelation(a, negated, p)).toBe(1);
          const ab = weightCorrelation(a, b, p);
          expect(weightCorrelation(b, a, p)).toBe(ab);
          expect(ab).toBeGreaterThanOrEqual(0);
          expect(ab).toBeLessThanOrEqual(1);
          [a, scaled, negated, b].forEach(free);
        }),
        FC,
      ),
    );
  });
});
