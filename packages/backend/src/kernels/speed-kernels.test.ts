import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { tf, seededArray } from '@trainkit/test-utils';
import { initWasm, onBackend, withHook } from '../internal/test-helpers';
import { setSimdDisabled } from '../internal/simd';

beforeAll(initWasm);

function expectSame(a: { values: Float32Array; shape: number[] }, e: { values: Float32Array; shape: number[] }, rel = 1e-4) {
  expect(a.shape).toEqual(e.shape);
  let scale = 1;
  for (const v of e.values) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < e.values.length; i++) err = Math.max(err, Math.abs((a.values[i] as number) - (e.values[i] as number)));
  expect(err / scale).toBeLessThanOrEqual(rel);
}

const both = async (fn: () => tf.Tensor) => [await onBackend('wasm', fn), await onBackend('cpu', fn)] as const;

describe('MaxPoolGrad on wasm matches cpu', () => {
  it('on random shapes, windows, strides and paddings, with ties routed to the first maximum', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          b: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 1, max: 8 }),
          w: fc.integer({ min: 1, max: 8 }),
          c: fc.integer({ min: 1, max: 11 }),
          k: fc.integer({ min: 1, max: 3 }),
          s: fc.integer({ min: 1, max: 3 }),
          pad: fc.constantFrom('same', 'valid'),
          ties: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async (g) => {
          if (g.pad === 'valid' && (g.k > g.h || g.k > g.w)) return;
          const shape: [number, number, number, number] = [g.b, g.h, g.w, g.c];
          let xv = seededArray(g.seed, g.b * g.h * g.w * g.c);
          // ReLU-like data: many exact zeros, so windows hold tied maxima.
          if (g.ties) xv = xv.map((v) => (v < 0.3 ? 0 : Math.round(v * 4) / 4));
          const run = () =>
            tf.tidy(() => {
              const x = tf.tensor4d(xv, shape);
              const y = tf.maxPool(x, g.k, g.s, g.pad as 'same' | 'valid');
              const dy = tf.tensor(seededArray(g.seed + 1, y.size), y.shape);
              return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: g.k, strides: g.s, pad: g.pad }) as tf.Tensor;
            });
          const [wasm, cpu] = await both(run);
          expectSame(wasm, cpu, 1e-6);
          // The JavaScript path too (no SIMD).
          await withHook(setSimdDisabled, true, async () => expectSame(await onBackend('wasm', run), cpu, 1e-6));
        },
      ),
      { seed: 11, numRuns: 50 },
    );
  });
});

describe('BatchMatMul on wasm matches cpu', () => {
  it('for every transpose combination, batch 1 (XNNPACK path) and batch > 1 (stock path)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          batch: fc.integer({ min: 1, max: 3 }),
          m: fc.integer({ min: 1, max: 9 }),
          k: fc.integer({ min: 1, max: 9 }),
          n: fc.integer({ min: 1, max: 9 }),
          ta: fc.boolean(),
          tb: fc.boolean(),
          rank2: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async (g) => {
          const lead = g.rank2 ? [] : [g.batch];
          const aShape = [...lead, ...(g.ta ? [g.k, g.m] : [g.m, g.k])];
          const bShape = [...lead, ...(g.tb ? [g.n, g.k] : [g.k, g.n])];
          const av = seededArray(g.seed, aShape.reduce((p, q) => p * q, 1));
          const bv = seededArray(g.seed + 1, bShape.reduce((p, q) => p * q, 1));
          const [wasm, cpu] = await both(() => tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), g.ta, g.tb)));
          expectSame(wasm, cpu);
        },
      ),
      { seed: 5, numRuns: 50 },
    );
  });
});

describe('Sum, Cast and Identity on wasm', () => {
  it('Sum and Mean match cpu for any axes (leading-axes fast path and stock path) and keepDims', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 15 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        async (shape, mask, keepDims, seed) => {
          const axes = shape.map((_, i) => i).filter((i) => (mask >> i) & 1);
          const xv = seededArray(seed, shape.reduce((p, q) => p * q, 1));
          const ax = axes.length ? axes : undefined;
          const [wasm, cpu] = await both(() => tf.tidy(() => tf.sum(tf.tensor(xv, shape), ax, keepDims)));
          expectSame(wasm, cpu);
          const [wasmMean, cpuMean] = await both(() => tf.tidy(() => tf.mean(tf.tensor(xv, shape), ax, keepDims)));
          expectSame(wasmMean, cpuMean);
        },
      ),
      { seed: 3, numRuns: 50 },
    );
  });

  it('Tile matches cpu for any reps, ranks 1-4, float32 and int32', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        async (dims, int, seed) => {
          const shape = dims.map((d) => d[0]);
          const reps = dims.map((d) => d[1]);
          const xv = seededArray(seed, shape.reduce((p, q) => p * q, 1), -10, 10);
          const [wasm, cpu] = await both(() => tf.tidy(() => tf.cast(tf.tile(tf.tensor(xv, shape, int ? 'int32' : 'float32'), reps), 'float32')));
          expectSame(wasm, cpu, 0);
        },
      ),
      { seed: 9, numRuns: 50 },
    );
  });

  it('same-dtype Cast and Identity share the buffer safely: values survive disposing the source', async () => {
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    try {
      const x = tf.tensor([1.5, -2, 3]);
      const c = tf.cast(x, 'float32');
      const i = tf.clone(x);
      const k = tf.cast(x, 'int32');
      x.dispose();
      expect(Array.from(await c.data())).toEqual([1.5, -2, 3]);
      expect(Array.from(await i.data())).toEqual([1.5, -2, 3]);
      expect(Array.from(await k.data())).toEqual([1, -2, 3]);
      tf.dispose([c, i, k]);
    } finally {
      await tf.setBackend(prev);
    }
  });
});
