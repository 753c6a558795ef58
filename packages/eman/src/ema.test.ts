import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrainkitError } from '@trainkit/core';
import { expectNoLeak, expectTensorClose, seededArray, seededVariable, tf } from '@trainkit/test-utils';
import { emaUpdate } from './ema';

describe('emaUpdate', () => {
  it('moves each target to m·t + (1 − m)·s and leaves the source alone', () => {
    const t = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, -4])));
    const s = tf.tidy(() => tf.variable(tf.tensor1d([3, 0, 4])));
    emaUpdate([t], [s], 0.75);
    // 0.75·1 + 0.25·3 = 1.5; 0.75·2 + 0 = 1.5; 0.75·(−4) + 0.25·4 = −2
    expectTensorClose(t, [1.5, 1.5, -2]);
    expect(Array.from(s.dataSync())).toEqual([3, 0, 4]);
    t.dispose();
    s.dispose();
  });

  it('m = 0 copies the source exactly; m = 1 leaves the target bit-identical', () => {
    const t = seededVariable(1, [3, 5]);
    const s = seededVariable(2, [3, 5]);
    const before = Float32Array.from(t.dataSync());
    emaUpdate([t], [s], 1);
    expect(Float32Array.from(t.dataSync())).toEqual(before);
    emaUpdate([t], [s], 0);
    expect(Float32Array.from(t.dataSync())).toEqual(Float32Array.from(s.dataSync()));
    t.dispose();
    s.dispose();
  });

  it('after k updates towards a fixed source, t_k − s = m^k (t_0 − s)', () => {
    const t = seededVariable(3, [4, 3]);
    const s = seededVariable(4, [4, 3], undefined, 2, 5);
    const t0 = Float64Array.from(t.dataSync());
    const sv = Float64Array.from(s.dataSync());
    const m = 0.9;
    const k = 10;
    for (let i = 0; i < k; i++) emaUpdate([t], [s], m);
    const expected = t0.map((v, i) => (sv[i] as number) + m ** k * (v - (sv[i] as number)));
    expectTensorClose(t, expected, { atol: 1e-5, rtol: 1e-5 });
    t.dispose();
    s.dispose();
  });

  it('copies integer variables instead of averaging them', () => {
    const t = tf.tidy(() => tf.variable(tf.tensor1d([1, 2], 'int32')));
    const s = tf.tidy(() => tf.variable(tf.tensor1d([7, 9], 'int32')));
    emaUpdate([t], [s], 0.5);
    expect(Array.from(t.dataSync())).toEqual([7, 9]);
    t.dispose();
    s.dispose();
  });

  it('rejects mismatched lists, shapes and momenta with TrainkitError', () => {
    const a = seededVariable(5, [2, 3]);
    const b = seededVariable(6, [3, 2]);
    const c = seededVariable(7, [2, 3]);
    const code = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(TrainkitError);
        return (err as TrainkitError).code;
      }
      return undefined;
    };
    expect(code(() => emaUpdate([a], [b], 0.9))).toBe('SHAPE_MISMATCH');
    expect(code(() => emaUpdate([a, c], [c], 0.9))).toBe('SHAPE_MISMATCH');
    expect(code(() => emaUpdate([a], [c], 1.5))).toBe('INVALID_ARGUMENT');
    expect(code(() => emaUpdate([a], [c], Number.NaN))).toBe('INVALID_ARGUMENT');
    const plain = tf.zeros([2, 3]);
    expect(code(() => emaUpdate([a], [plain as unknown as tf.Variable], 0.5))).toBe('INVALID_ARGUMENT');
    plain.dispose();
    expect(Array.from(a.dataSync())).toEqual(Array.from(seededArray(5, 6)).map((v) => Math.fround(v)));
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('matches the formula for any shape and momentum, and leaks nothing (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        async (shape, m, seed) => {
          const t = seededVariable(seed, shape);
          const s = seededVariable(seed + 1, shape);
          const tv = Float64Array.from(t.dataSync());
          const sv = Float64Array.from(s.dataSync());
          await expectNoLeak(() => emaUpdate([t], [s], m));
          expectTensorClose(t, tv.map((v, i) => Math.fround(m) * v + (1 - m) * (sv[i] as number)));
          t.dispose();
          s.dispose();
        },
      ),
      { seed: 7, numRuns: 40 },
    );
  });
});
