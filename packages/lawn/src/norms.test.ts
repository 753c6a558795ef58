import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectTensorClose } from '@trainkit/test-utils';
import { projectToTangent, retractToNorm, weightNorms } from './norms';

/** float64 dot product of two tensors' values. */
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

describe('weightNorms (spec invariant 11: granularity shapes)', () => {
  it("'layer' is the Frobenius norm", () => {
    // [[3, 0], [0, 4]] → sqrt(9 + 16) = 5
    const w = tf.tensor2d([[3, 0], [0, 4]]);
    const n = weightNorms(w);
    expect(n.shape).toEqual([]);
    expectTensorClose(n, 5);
    tf.dispose([w, n]);
  });

  it("'unit' reduces a Dense kernel [in, out] over axis 0", () => {
    // columns: (1, 2, 2) → 3 ; (0, 3, 4) → 5
    const w = tf.tensor2d([[1, 0], [2, 3], [2, 4]]);
    const n = weightNorms(w, 'unit');
    expect(n.shape).toEqual([2]);
    expectTensorClose(n, [3, 5]);
    tf.dispose([w, n]);
  });

  it("'unit' reduces a Conv2D kernel [kh, kw, in, out] over axes 0, 1, 2", () => {
    // out 0: eight entries of 1 → sqrt(8); out 1: one entry 6 and one entry 8 → 10
    const vals = new Float32Array(2 * 2 * 2 * 2);
    for (let i = 0; i < 8; i++) vals[i * 2] = 1;
    vals[1] = 6;
    vals[15] = 8;
    const w = tf.tensor4d(vals, [2, 2, 2, 2]);
    const n = weightNorms(w, 'unit');
    expect(n.shape).toEqual([2]);
    expectTensorClose(n, [Math.sqrt(8), 10]);
    tf.dispose([w, n]);
  });

  it("'unit' of a vector is its absolute values", () => {
    const w = tf.tensor1d([-3, 0, 2]);
    const n = weightNorms(w, 'unit');
    expectTensorClose(n, [3, 0, 2]);
    tf.dispose([w, n]);
  });
});

describe('projectToTangent (spec invariant 3)', () => {
  it('removes exactly the radial part (hand-worked 2-vector)', () => {
    // g = (1, 1), W = (2, 0): <g,W>/|W|^2 = 2/4 = 0.5 → g − 0.5 W = (0, 1)
    const g = tf.tensor1d([1, 1]);
    const w = tf.tensor1d([2, 0]);
    const p = projectToTangent(g, w);
    expectTensorClose(p, [0, 1]);
    tf.dispose([g, w, p]);
  });

  it('is tangent per tensor and per unit for any shape (property, 50 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom<'layer' | 'unit'>('layer', 'unit'),
        (shape, seed, granularity) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const [g, w, p] = tf.tidy(() => {
            const g = tf.randomNormal(shape, 0, 1, 'float32', seed);
            const w = tf.add(tf.randomNormal(shape, 0, 1, 'float32', seed + 1), 0.1);
            return [g, w, projectToTangent(g, w, granularity)];
          });
          const gv = g.dataSync();
          const wv = w.dataSync();
          const pv = p.dataSync();
          const units = granularity === 'layer' ? 1 : shape[shape.length - 1]!;
          for (let u = 0; u < units; u++) {
            const idx = Array.from({ length: n }, (_, i) => i).filter((i) => granularity === 'layer' || i % units === u);
            const pu = idx.map((i) => pv[i]!);
            const wu = idx.map((i) => wv[i]!);
            const gu = idx.map((i) => gv[i]!);
            const bound = 1e-6 * Math.sqrt(dot(gu, gu)) * Math.sqrt(dot(wu, wu)) + 1e-12;
            expect(Math.abs(dot(pu, wu))).toBeLessThanOrEqual(bound * 4);
          }
          tf.dispose([g, w, p]);
        },
      ),
      { seed: 42, numRuns: 50 },
    );
  });

  it('leaves units whose frozen norm is below eps untouched', () => {
    const g = tf.tensor2d([[1, 1], [1, 1]]);
    const w = tf.tensor2d([[1, 0], [0, 0]]);
    const frozen = tf.tensor1d([1, 0]);
    const p = projectToTangent(g, w, 'unit', frozen, 1e-12);
    // unit 0: W=(1,0), g=(1,1) → (0,1); unit 1 frozen at 0 → g unchanged (1,1)
    expectTensorClose(p, [0, 1, 1, 1]); // row-major [[0, 1], [1, 1]]
    tf.dispose([g, w, frozen, p]);
  });
});

describe('retractToNorm (spec invariants 2, 6, 7)', () => {
  it('puts each unit on its frozen norm and is idempotent', () => {
    const w = tf.tensor2d([[3, 1], [4, 1]]); // unit norms 5, sqrt(2)
    const c = tf.tensor1d([10, 1]);
    const r1 = retractToNorm(w, c, 'unit');
    expectTensorClose(r1, [6, Math.SQRT1_2, 8, Math.SQRT1_2]); // [[6, 1/√2], [8, 1/√2]]
    const r2 = retractToNorm(r1, c, 'unit');
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(r2, r1))));
    expect(diff.dataSync()[0]).toBeLessThanOrEqual(1e-7 * 10);
    tf.dispose([w, c, r1, r2, diff]);
  });

  it('gives no NaN for a zero tensor and leaves it at zero', () => {
    const w = tf.zeros([3, 2]);
    const c0 = tf.scalar(0);
    const c1 = tf.scalar(1);
    const a = retractToNorm(w, c0); // frozen 0: unconstrained → unchanged
    const b = retractToNorm(w, c1); // current norm 0: c·0/eps = 0, finite
    expect(Array.from(a.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Array.from(b.dataSync()).every(Number.isFinite)).toBe(true);
    expectTensorClose(a, new Float32Array(6));
    expectTensorClose(b, new Float32Array(6));
    tf.dispose([w, c0, c1, a, b]);
  });
});
