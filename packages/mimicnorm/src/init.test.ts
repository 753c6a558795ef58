import { describe, expect, it } from 'vitest';
import { expectNoLeak, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { MIMIC_INIT_GAIN, mimicInit, residualScaleInit } from './init';

function moments(t: tf.Tensor): { mean: number; variance: number } {
  const d = t.dataSync();
  let s = 0;
  for (const v of d) s += v;
  const mean = s / d.length;
  let q = 0;
  for (const v of d) q += (v - mean) ** 2;
  return { mean, variance: q / d.length };
}

describe('mimicInit', () => {
  it('the default gain is 2 / (1 - 1/pi) ≈ 2.934 (Theorem 3)', () => {
    expect(Math.abs(MIMIC_INIT_GAIN - 2.9338)).toBeLessThan(1e-4);
  });

  it('draws var(W)·fan_in ≈ gain within 5% for fan_in ≥ 576 (conv and dense)', () => {
    const conv = seededVariable(1, [3, 3, 64, 64], 'conv'); // fan-in 576
    const dense = seededVariable(2, [600, 50], 'dense'); // fan-in 600
    mimicInit([conv, dense], { seed: 7 });
    for (const [v, n] of [[conv, 576], [dense, 600]] as const) {
      const { mean, variance } = moments(v);
      expect(Math.abs(variance * n - MIMIC_INIT_GAIN) / MIMIC_INIT_GAIN).toBeLessThan(0.05);
      expect(Math.abs(mean)).toBeLessThan(0.01);
    }
    mimicInit([conv], { seed: 7, gain: 2.8 }); // the reference VGG code's value
    expect(Math.abs(moments(conv).variance * 576 - 2.8) / 2.8).toBeLessThan(0.05);
    tf.dispose([conv, dense]);
  });

  it('is deterministic under a seed and differs across kernels and seeds', () => {
    const a = seededVariable(3, [3, 3, 8, 4], 'a');
    const b = seededVariable(4, [3, 3, 8, 4], 'b');
    mimicInit([a, b], { seed: 11 });
    const a1 = a.dataSync().slice();
    expect(Array.from(b.dataSync())).not.toEqual(Array.from(a1));
    mimicInit([a, b], { seed: 11 });
    expect(Array.from(a.dataSync())).toEqual(Array.from(a1));
    mimicInit([a, b], { seed: 12 });
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(a1));
    tf.dispose([a, b]);
  });

  it('on a model re-draws the Conv2D kernels only (biases and Dense untouched), without leaks', async () => {
    const m = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 4, kernelSize: 3, name: 'c' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, name: 'fc' }),
      ],
    });
    const [ck, cb, dk] = m.weights.map((w) => w.read().dataSync().slice());
    await expectNoLeak(() => mimicInit(m, { seed: 3 }));
    const [ck2, cb2, dk2] = m.weights.map((w) => w.read().dataSync());
    expect(Array.from(ck2!)).not.toEqual(Array.from(ck!));
    expect(Array.from(cb2!)).toEqual(Array.from(cb!));
    expect(Array.from(dk2!)).toEqual(Array.from(dk!));
    m.dispose();
  });

  it('rejects bad arguments with TrainkitError', () => {
    const v = seededVariable(5, [3, 3, 2, 2], 'v');
    for (const args of [{ gain: 0 }, { gain: -1 }, { gain: Number.NaN }, { seed: 0 }, { seed: 1.5 }]) {
      expect(() => mimicInit([v], args), JSON.stringify(args)).toThrow(TrainkitError);
    }
    expect(() => mimicInit([], {})).toThrow(TrainkitError);
    const noConv = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
    expect(() => mimicInit(noConv)).toThrow(TrainkitError);
    noConv.dispose();
    v.dispose();
  });
});

describe('residualScaleInit', () => {
  it("'code': 1.2^m / l (1.44 / l for a basic block); 'paper': 1 / sqrt(l)", () => {
    for (const l of [1, 2, 3, 9]) {
      expect(Math.abs(residualScaleInit(l) - 1.44 / l)).toBeLessThan(1e-12);
      expect(Math.abs(residualScaleInit(l, { branchConvs: 3 }) - 1.728 / l)).toBeLessThan(1e-12);
      expect(Math.abs(residualScaleInit(l, { mode: 'paper' }) - 1 / Math.sqrt(l))).toBeLessThan(1e-12);
    }
  });

  it('rejects bad arguments with TrainkitError', () => {
    expect(() => residualScaleInit(0)).toThrow(TrainkitError);
    expect(() => residualScaleInit(1.5)).toThrow(TrainkitError);
    expect(() => residualScaleInit(1, { branchConvs: 0 })).toThrow(TrainkitError);
    expect(() => residualScaleInit(1, { mode: 'text' as never })).toThrow(TrainkitError);
  });
});
