import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { tf, seededArray, expectCloseToScale } from '@trainkit/test-utils';
import { initWasm, withHook } from '../internal/test-helpers';
import { batchNormTraining, fusedBatchNormActive } from '../batch-norm-training';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../register';
import { setSimdDisabled } from '../internal/simd';

/** `run` on wasm with trainkit's SIMD loops, then with their JavaScript fallback. */
async function wasmBothPaths(k: Case): Promise<Array<{ fused: boolean; outs: Float32Array[] }>> {
  const simd = await run('wasm', k);
  return [simd, await withHook(setSimdDisabled, true, () => run('wasm', k))];
}

beforeAll(initWasm);


interface Case {
  shape: number[];
  xv: Float32Array;
  gv: Float32Array;
  bv: Float32Array;
  wy: Float32Array;
  wm: Float32Array;
  wv: Float32Array;
  eps: number;
}

/** y, mean, variance and the gradients of Σ y·wy + Σ mean·wm + Σ variance·wv by x, scale, offset, on `backend`. */
async function run(backend: string, k: Case): Promise<{ fused: boolean; outs: Float32Array[] }> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const c = k.shape[k.shape.length - 1] as number;
    const x = tf.tensor(k.xv, k.shape);
    const g = tf.tensor1d(k.gv);
    const b = tf.tensor1d(k.bv);
    const wy = tf.tensor(k.wy, k.shape);
    const wm = tf.tensor1d(k.wm);
    const wv = tf.tensor1d(k.wv);
    const fused = fusedBatchNormActive();
    const { y, mean, variance } = batchNormTraining(x, g, b, k.eps);
    const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
      const r = batchNormTraining(xi, gi, bi, k.eps);
      return tf.addN([tf.sum(tf.mul(r.y, wy)), tf.sum(tf.mul(r.mean, wm)), tf.sum(tf.mul(r.variance, wv))]) as tf.Scalar;
    };
    const grads = tf.grads(f)([x, g, b]);
    const outs = await Promise.all([y, mean, variance, ...grads].map(async (t) => Float32Array.from(await t.data())));
    expect(outs[1]?.length).toBe(c);
    tf.dispose([x, g, b, wy, wm, wv, y, mean, variance, ...grads]);
    return { fused, outs };
  } finally {
    await tf.setBackend(prev);
  }
}

const shapes = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 64 })).map(([b, c]) => [b, c]),
  fc
    .tuple(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 64 }))
    .map(([b, h, w, c]) => [b, h, w, c]),
  fc.tuple(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 64 })).map(([b, l, c]) => [b, l, c]),
);

describe('fused training-mode batch norm on wasm', () => {
  it('y, mean, variance and dx, dscale, doffset (also through mean/variance) match tf.moments + tf.batchNorm on cpu', async () => {
    let fusedRuns = 0;
    await fc.assert(
      fc.asyncProperty(
        shapes,
        fc.integer({ min: 1, max: 1e6 }),
        fc.constantFrom(1e-3, 1e-5, 0.1),
        fc.double({ min: -50, max: 50, noNaN: true }),
        async (shape, seed, eps, shift) => {
          const n = shape.reduce((p, q) => p * q, 1);
          const c = shape[shape.length - 1] as number;
          // A shifted, spread input: the mean must not cancel the variance.
          const k: Case = {
            shape,
            xv: seededArray(seed, n, -2, 2).map((v) => v * 3 + shift),
            gv: seededArray(seed + 1, c, 0.2, 2),
            bv: seededArray(seed + 2, c, -1, 1),
            wy: seededArray(seed + 3, n),
            wm: seededArray(seed + 4, c),
            wv: seededArray(seed + 5, c),
            eps,
          };
          const cpu = await run('cpu', k);
          expect(cpu.fused).toBe(false);
          const paths = await wasmBothPaths(k);
          if (paths.every((w) => w.fused)) fusedRuns++;
          for (const wasm of paths) for (let i = 0; i < cpu.outs.length; i++) expectCloseToScale(wasm.outs[i] as Float32Array, cpu.outs[i] as Float32Array);
        },
      ),
      { seed: 17, numRuns: 60 },
    );
    expect(fusedRuns).toBe(60);
  });

  it('at a bench layer size (8192 rows of 24 channels, mean 100) on SIMD and JavaScript', async () => {
    const shape = [128, 8, 8, 24];
    const n = 128 * 8 * 8 * 24;
    const k: Case = {
      shape,
      xv: seededArray(9, n, -2, 2).map((v) => v + 100),
      gv: seededArray(10, 24, 0.2, 2),
      bv: seededArray(11, 24, -1, 1),
      wy: seededArray(12, n),
      wm: seededArray(13, 24),
      wv: seededArray(14, 24),
      eps: 1e-3,
    };
    const cpu = await run('cpu', k);
    for (const wasm of await wasmBothPaths(k)) for (let i = 0; i < cpu.outs.length; i++) expectCloseToScale(wasm.outs[i] as Float32Array, cpu.outs[i] as Float32Array);
  });

  it('a constant channel (variance 0) gives y = offset and finite gradients, as on cpu', async () => {
    const k: Case = {
      shape: [4, 3],
      xv: Float32Array.from([5, 1, -2, 5, 2, -2, 5, 3, -2, 5, 4, -2]),
      gv: Float32Array.from([1.5, 1, 0.5]),
      bv: Float32Array.from([0.25, 0, -1]),
      wy: seededArray(3, 12),
      wm: seededArray(4, 3),
      wv: seededArray(5, 3),
      eps: 1e-3,
    };
    const wasm = await run('wasm', k);
    const cpu = await run('cpu', k);
    for (let i = 0; i < cpu.outs.length; i++) expectCloseToScale(wasm.outs[i] as Float32Array, cpu.outs[i] as Float32Array);
    expect(wasm.outs[0]?.[0]).toBeCloseTo(0.25, 5);
  });

  it('is off on cpu and on wasm without trainkit kernels (tf.moments + tf.batchNorm then), and on again after registering', async () => {
    const k: Case = {
      shape: [3, 2, 2, 5],
      xv: seededArray(8, 60),
      gv: seededArray(9, 5, 0.5, 1.5),
      bv: seededArray(10, 5),
      wy: seededArray(11, 60),
      wm: seededArray(12, 5),
      wv: seededArray(13, 5),
      eps: 1e-3,
    };
    const cpu = await run('cpu', k);
    expect(cpu.fused).toBe(false);
    unregisterWasmTrainingKernels();
    try {
      const stock = await run('wasm', k);
      expect(stock.fused).toBe(false);
      for (let i = 0; i < cpu.outs.length; i++) expectCloseToScale(stock.outs[i] as Float32Array, cpu.outs[i] as Float32Array);
    } finally {
      registerWasmTrainingKernels();
    }
    expect((await run('wasm', k)).fused).toBe(true);
  });

  it('rejects bad arguments with a TrainkitError naming them', () => {
    const x = tf.ones([2, 3]);
    const r3 = tf.ones([3]);
    const r2 = tf.ones([2]);
    const ints = tf.ones([2, 3], 'int32');
    try {
      expect(() => batchNormTraining(x, r2, r3)).toThrow(/scale/);
      expect(() => batchNormTraining(x, r3, r2)).toThrow(/offset/);
      expect(() => batchNormTraining(r3, r3, r3)).toThrow(/x must be/);
      expect(() => batchNormTraining(x, r3, r3, -1)).toThrow(/epsilon/);
      expect(() => batchNormTraining(ints, r3, r3)).toThrow(/dtype/);
    } finally {
      tf.dispose([x, r3, r2, ints]);
    }
  });
});
