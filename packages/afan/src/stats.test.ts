import { describe, expect, it } from 'vitest';
import { expectTensorClose, finiteDiffGrad, seededArray, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { featureStatSwap, statsAxesOf, type StatsAxes } from './stats';

const SHAPE = [3, 2, 2, 4]; // N, H, W, C

/** Float64 moments over `axes` (mean, unbiased variance), one entry per kept-dims index, in row-major order. */
function moments64(data: Float32Array, shape: number[], axes: number[]): Map<string, { mean: number; var: number }> {
  const groups = new Map<string, number[]>();
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < data.length; flat++) {
    const idx = shape.map((d, i) => Math.floor(flat / (strides[i] as number)) % d);
    const key = idx.map((v, i) => (axes.includes(i) ? '*' : v)).join(',');
    const g = groups.get(key) ?? [];
    g.push(data[flat] as number);
    groups.set(key, g);
  }
  const out = new Map<string, { mean: number; var: number }>();
  for (const [k, g] of groups) {
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    out.set(k, { mean, var: g.reduce((a, b) => a + (b - mean) ** 2, 0) / (g.length - 1) });
  }
  return out;
}

describe('featureStatSwap', () => {
  it('maps the axis names onto NHWC axes (pono = channels, batch = N·H·W, instance = H·W)', () => {
    expect(statsAxesOf('pono', 4)).toEqual([3]);
    expect(statsAxesOf('batch', 4)).toEqual([0, 1, 2]);
    expect(statsAxesOf('instance', 4)).toEqual([1, 2]);
    expect(statsAxesOf('batch', 2)).toEqual([0]);
  });

  for (const axes of ['pono', 'batch', 'instance'] as StatsAxes[]) {
    it(`'${axes}': the output has the adversarial mean and (up to eps) the adversarial std on those axes`, () => {
      const eps = 1e-5;
      const cData = seededArray(1, 48, -1, 2);
      const aData = seededArray(2, 48, -3, 1);
      const clean = tf.tensor(cData, SHAPE);
      const adv = tf.tensor(aData, SHAPE);
      const out = featureStatSwap(clean, adv, { axes });
      const ax = statsAxesOf(axes, 4);
      const got = moments64(out.dataSync() as Float32Array, SHAPE, ax);
      const mc = moments64(cData, SHAPE, ax);
      const ma = moments64(aData, SHAPE, ax);
      for (const [k, g] of got) {
        const c = mc.get(k)!;
        const a = ma.get(k)!;
        // mean: exactly μ_adv; std: sqrt(var_adv + eps)·sqrt(var_c / (var_c + eps)) (spec invariant 6)
        expectTensorClose(g.mean, a.mean, { atol: 1e-5, rtol: 1e-4 });
        expectTensorClose(Math.sqrt(g.var), Math.sqrt(a.var + eps) * Math.sqrt(c.var / (c.var + eps)), { atol: 1e-5, rtol: 1e-4 });
      }
      tf.dispose([clean, adv, out]);
    });
  }

  it('strength s takes the moments of f + s·(f_adv − f)', () => {
    const clean = tf.tensor(seededArray(3, 48), SHAPE);
    const adv = tf.tensor(seededArray(4, 48, -2, 3), SHAPE);
    const lerp = tf.tidy(() => tf.add(clean, tf.mul(tf.sub(adv, clean), 0.25)));
    const a = featureStatSwap(clean, adv, { strength: 0.25, axes: 'batch' });
    const b = featureStatSwap(clean, lerp, { axes: 'batch' });
    expectTensorClose(a, b);
    const zero = featureStatSwap(clean, adv, { strength: 0, axes: 'batch' });
    expectTensorClose(zero, clean, { atol: 1e-4, rtol: 1e-4 }); // own moments back (up to eps)
    tf.dispose([clean, adv, lerp, a, b, zero]);
  });

  it('AFN(f, f) ≈ f and AFN(a·f + b, f_adv) ≈ AFN(f, f_adv) for a > 0 (spec invariant 5)', () => {
    const f = tf.tensor(seededArray(5, 48), SHAPE);
    const fAdv = tf.tensor(seededArray(6, 48, -1, 1.5), SHAPE);
    const same = featureStatSwap(f, f);
    expectTensorClose(same, f, { atol: 1e-5, rtol: 1e-5 });
    const affine = tf.tidy(() => tf.add(tf.mul(f, 3), 0.7));
    const x = featureStatSwap(affine, fAdv);
    const y = featureStatSwap(f, fAdv);
    expectTensorClose(x, y, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([f, fAdv, same, affine, x, y]);
  });

  it('lets gradients through to both inputs (checked against finite differences)', () => {
    const c0 = tf.tensor(seededArray(7, 12), [2, 6]);
    const a0 = tf.tensor(seededArray(8, 12, -2, 2), [2, 6]);
    const weights = tf.tensor(seededArray(9, 12), [2, 6]);
    const lossC = (c: tf.Tensor) => tf.sum(tf.mul(featureStatSwap(c, a0), weights)) as tf.Scalar;
    const lossA = (a: tf.Tensor) => tf.sum(tf.mul(featureStatSwap(c0, a), weights)) as tf.Scalar;
    const gc = tf.grad(lossC)(c0);
    const ga = tf.grad(lossA)(a0);
    expectTensorClose(gc, finiteDiffGrad(lossC, c0), { atol: 1e-3, rtol: 1e-2 });
    expectTensorClose(ga, finiteDiffGrad(lossA, a0), { atol: 1e-3, rtol: 1e-2 });
    expect(tf.tidy(() => tf.max(tf.abs(ga)).dataSync()[0] as number)).toBeGreaterThan(0.01);
    tf.dispose([c0, a0, weights, gc, ga]);
  });

  it('refuses moments over fewer than 2 values (the reference’s unbiased variance is NaN there)', () => {
    const c1 = tf.zeros([4, 3, 3, 1]);
    expect(() => featureStatSwap(c1, c1, { axes: 'pono' })).toThrow(/averages over 1 value/);
    const b1 = tf.zeros([1, 1, 1, 5]);
    expect(() => featureStatSwap(b1, b1, { axes: 'batch' })).toThrow(TrainkitError);
    const flat = tf.zeros([4, 5]);
    expect(() => featureStatSwap(flat, flat, { axes: 'instance' })).toThrow(/rank >= 3/);
    tf.dispose([c1, b1, flat]);
  });

  it('throws TrainkitError on bad options and mismatched inputs', () => {
    const a = tf.zeros([2, 4]);
    const b = tf.zeros([2, 5]);
    expect(() => featureStatSwap(a, b)).toThrow(/adversarial must have the shape of clean/);
    expect(() => featureStatSwap(a, a, { axes: 'channel' as never })).toThrow(/options\.axes must be 'pono', 'batch' or 'instance'/);
    expect(() => featureStatSwap(a, a, { strength: 1.5 })).toThrow(/options\.strength/);
    expect(() => featureStatSwap(a, a, { epsilon: 0 })).toThrow(/options\.epsilon/);
    expect(() => featureStatSwap(a, a, { axis: 'pono' } as never)).toThrow(/options\.axis/);
    expect(() => featureStatSwap(a, 3 as never)).toThrow(TrainkitError);
    tf.dispose([a, b]);
  });
});
