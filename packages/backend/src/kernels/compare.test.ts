import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { tf, seededArray } from '@trainkit/test-utils';
import { initWasm, onBackend, withHook } from '../internal/test-helpers';
import { setSimdDisabled } from '../internal/simd';

beforeAll(initWasm);

const ops = { GreaterEqual: tf.greaterEqual, LessEqual: tf.lessEqual, Greater: tf.greater, Less: tf.less } as const;

/** Values on a coarse grid (many exact ties), some NaN. */
function values(seed: number, n: number, nan: boolean): Float32Array {
  return seededArray(seed, n, -3, 3).map((v, i) => (nan && i % 7 === 3 ? Number.NaN : Math.round(v * 2) / 2));
}

async function onBoth(fn: () => tf.Tensor) {
  const cpu = await onBackend('cpu', fn);
  const simd = await onBackend('wasm', fn);
  return { cpu, simd, stock: await withHook(setSimdDisabled, true, () => onBackend('wasm', fn)) };
}

describe('comparisons and LogicalAnd on wasm match cpu', () => {
  it('same shapes, a scalar right side, other broadcasts (stock), ties and NaN, through LogicalAnd and Select; SIMD and stock paths', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(ops) as Array<keyof typeof ops>)),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 0, maxLength: 4 }),
        fc.constantFrom('same', 'scalar', 'scalar-rank0', 'row'),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        async (op, shape, kind, nan, seed) => {
          const n = shape.reduce((p, q) => p * q, 1);
          const av = values(seed, n, nan);
          const bShape = kind === 'same' ? shape : kind === 'scalar' ? shape.map(() => 1) : kind === 'row' ? [shape[shape.length - 1] ?? 1] : [];
          const bv = values(seed + 1, bShape.reduce((p, q) => p * q, 1), nan);
          const r = await onBoth(() =>
            tf.tidy(() => {
              const a = tf.tensor(av, shape);
              const b = tf.tensor(bv, bShape);
              const c = ops[op](a, b);
              // Through LogicalAnd and Select too, as the clipByValue gradient uses them (a [n, 1] condition
              // broadcast over a rank-2 t goes to the stock kernel).
              const both2 = tf.logicalAnd(c, ops[op](b, a));
              const sel = tf.where(both2, a, tf.neg(a));
              const rank1 = a.rank === 2 ? tf.where(tf.greater(tf.slice(a, [0, 0], [-1, 1]), 0), a, tf.zerosLike(a)) : a;
              return tf.concat([tf.reshape(tf.cast(tf.stack([c, both2]), 'float32'), [-1]), tf.reshape(sel, [-1]), tf.reshape(rank1, [-1])]);
            }),
          );
          expect(r.simd.values).toEqual(r.cpu.values);
          expect(r.stock.values).toEqual(r.cpu.values);
          expect(r.simd.shape).toEqual(r.cpu.shape);
        },
      ),
      { seed: 3, numRuns: 80 },
    );
  });

  it('the clipByValue (ReLU6) gradient at a layer size (4·16·16·40 values), SIMD and stock', async () => {
    const shape = [4, 16, 16, 40];
    const xv = seededArray(21, 4 * 16 * 16 * 40, -2, 8);
    const dyv = seededArray(22, xv.length);
    const r = await onBoth(() => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.clipByValue(x, 0, 6), tf.tensor(dyv, shape))))(tf.tensor(xv, shape))));
    expect(r.simd.values).toEqual(r.cpu.values);
    expect(r.stock.values).toEqual(r.cpu.values);
  });
});
