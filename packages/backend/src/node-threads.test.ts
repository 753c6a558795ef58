import { describe, expect, it, beforeAll, vi } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { tf, seededArray } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initNodeWasmThreads } from './node-threads';
import { setIm2colFilterGrad } from './kernels/conv2d-grad';
import { onBackend, withHook } from './internal/test-helpers';
import { setSimdPoolDisabled, simdKernels, simdPool, simdPoolReady, splitRange, wasmThreaded } from './internal/simd';

// Each vitest file runs in its own process (pool 'forks'), so wasm starts here, threaded.
let threads = 0;
beforeAll(async () => {
  threads = await initNodeWasmThreads(2);
});

function maxRelErr(a: Float32Array, e: Float32Array): number {
  let scale = 1;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < e.length; i++) err = Math.max(err, Math.abs((a[i] as number) - (e[i] as number)));
  return err / scale;
}

describe('initNodeWasmThreads', () => {
  it('starts the threaded build with 2 XNNPACK threads, previous backend still active', () => {
    expect(threads).toBe(2);
    expect(getThreadsCount()).toBe(2);
    expect(tf.getBackend()).not.toBe('wasm');
    const be = tf.engine().registry['wasm'] as unknown as { wasm: { HEAPU8: Uint8Array } };
    expect(be.wasm.HEAPU8.buffer).toBeInstanceOf(SharedArrayBuffer);
    // trainkit's SIMD helpers load their shared-memory build here.
    expect(simdKernels(be)).not.toBeNull();
    expect(wasmThreaded(be)).toBe(true);
  });

  it('threaded convolutions and their gradients (trainkit kernels) match cpu', async () => {
    const x0 = seededArray(1, 8 * 12 * 12 * 16);
    const w0 = seededArray(2, 3 * 3 * 16 * 32);
    const grads = (be: string) =>
      onBackend(be, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(x0, [8, 12, 12, 16]);
          const w = tf.tensor4d(w0, [3, 3, 16, 32]);
          const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))));
          const [dx, dw] = tf.grads(f)([x, w]);
          return tf.concat([tf.reshape(dx as tf.Tensor, [-1]), tf.reshape(dw as tf.Tensor, [-1])]);
        }),
      );
    const ref = await grads('cpu');
    const got = await grads('wasm');
    expect(maxRelErr(got.values, ref.values)).toBeLessThanOrEqual(1e-4);
  });

  it("splits trainkit's SIMD filter and input gradients over a worker thread, matching cpu (random shapes, batch 1–16, channels 1–64)", { timeout: 120_000 }, async () => {
    const be = tf.engine().registry['wasm'] as object;
    const pool = await simdPoolReady(be);
    expect(pool?.size).toBe(2);
    expect(simdPool(be)).toBe(pool);
    const run = vi.spyOn(pool!, 'run');
    const split = new Map<string, number>();
    const geometry = fc.record({
      b: fc.integer({ min: 1, max: 16 }),
      h: fc.integer({ min: 1, max: 10 }),
      ci: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 64 })),
      co: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 64 })),
      k: fc.constantFrom(1, 3),
      s: fc.constantFrom(1, 2),
      pad: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
      depthwise: fc.boolean(),
      seed: fc.integer({ min: 1, max: 1e6 }),
    });
    await fc.assert(
      fc.asyncProperty(geometry, async (g) => {
        if (g.pad === 'valid' && g.h < g.k) return;
        const x0 = seededArray(g.seed, g.b * g.h * g.h * g.ci);
        const w0 = seededArray(g.seed + 1, g.k * g.k * g.ci * (g.depthwise ? 1 : g.co));
        const dw = (backend: string) =>
          onBackend(backend, () =>
            tf.tidy(() => {
              const x = tf.tensor4d(x0, [g.b, g.h, g.h, g.ci]);
              const w = tf.tensor4d(w0, [g.k, g.k, g.ci, g.depthwise ? 1 : g.co]);
              const f = (a: tf.Tensor, b: tf.Tensor) =>
                tf.sum(tf.square(g.depthwise ? tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.s, g.pad) : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, g.s, g.pad)));
              const [dx, dw] = tf.grads(f)([x, w]);
              return tf.concat([tf.reshape(dx as tf.Tensor, [-1]), tf.reshape(dw as tf.Tensor, [-1])]);
            }),
          );
        const ref = await dw('cpu');
        const got = await dw('wasm');
        expect(got.shape).toEqual(ref.shape);
        expect(maxRelErr(got.values, ref.values)).toBeLessThanOrEqual(1e-4);
        const matches = async () => expect(maxRelErr((await dw('wasm')).values, ref.values)).toBeLessThanOrEqual(1e-4);
        await withHook(setSimdPoolDisabled, true, matches);
        await withHook(setIm2colFilterGrad, true, matches); // patches split by sample, then the split product
      }),
      { seed: 7, numRuns: 40 },
    );
    for (const [fn, calls] of run.mock.calls) if (calls.length === 2) split.set(fn, (split.get(fn) ?? 0) + 1);
    // Each split kernel ran on both threads at least once; one sample (or row) is never split.
    expect(split.get('filter_grad')).toBeGreaterThan(0);
    expect(split.get('gemm_tn')).toBeGreaterThan(0);
    expect(split.get('depthwise_filter_grad')).toBeGreaterThan(0);
    expect(split.get('input_grad')).toBeGreaterThan(0);
    expect(split.get('im2col')).toBeGreaterThan(0);
    run.mockRestore();
  });

  it('splits ranges evenly without empty parts', () => {
    expect(splitRange(128, 2)).toEqual([[0, 64], [64, 64]]);
    expect(splitRange(5, 2)).toEqual([[0, 2], [2, 3]]);
    expect(splitRange(1, 2)).toEqual([[0, 1]]);
    expect(splitRange(7, 3)).toEqual([[0, 2], [2, 2], [4, 3]]);
  });

  // Normally ~2 s; threads that wait on each other can take far longer when other processes hold the cores.
  it('grows neither tensors nor the wasm heap over 200 threaded training steps', { timeout: 180_000 }, async () => {
    await tf.setBackend('wasm');
    try {
      const w = tf.tidy(() => tf.variable(tf.tensor4d(seededArray(3, 3 * 3 * 4 * 8, -0.3, 0.3), [3, 3, 4, 8])));
      const w2 = tf.tidy(() => tf.variable(tf.tensor4d(seededArray(5, 3 * 3 * 8 * 8, -0.3, 0.3), [3, 3, 8, 8])));
      const x = tf.tensor4d(seededArray(4, 4 * 8 * 8 * 4), [4, 8, 8, 4]);
      const opt = tf.train.adam(1e-3);
      // Split filter gradients on both layers, the split SIMD input gradient (stride 2) into the first.
      const loss = () => tf.mean(tf.square(tf.conv2d(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 1, 'same')), w2 as tf.Tensor4D, 2, 'same'))) as tf.Scalar;
      const step = () => opt.minimize(loss, true)?.dispose();
      for (let i = 0; i < 5; i++) step();
      const be = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
      const tensors = tf.memory().numTensors;
      const heap = be.wasm.HEAPU8.buffer.byteLength;
      for (let i = 0; i < 200; i++) step();
      expect(tf.memory().numTensors - tensors).toBe(0);
      expect(be.wasm.HEAPU8.buffer.byteLength - heap).toBe(0);
      tf.dispose([w, w2, x]);
      opt.dispose();
    } finally {
      await tf.setBackend('cpu');
    }
  });

  it('rejects a second call and bad counts, changing nothing', async () => {
    await expect(initNodeWasmThreads(2)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    for (const bad of [0, 9, 1.5, Number.NaN]) {
      await expect(initNodeWasmThreads(bad)).rejects.toBeInstanceOf(TrainkitError);
      await expect(initNodeWasmThreads(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'threads' });
    }
    expect(getThreadsCount()).toBe(2);
  });

  it('lets a Node script end on its own after threaded training (the pthread pool does not keep it alive)', { timeout: 90_000 }, () => {
    const code = [
      "import * as tf from '@tensorflow/tfjs';",
      "import '@tensorflow/tfjs-backend-wasm';",
      "import { initNodeWasmThreads } from '@trainkit/backend';",
      'await initNodeWasmThreads(2);',
      "await tf.setBackend('wasm');",
      "const w = tf.variable(tf.ones([3, 3, 3, 4]));",
      "const step = () => tf.train.sgd(0.1).minimize(() => tf.sum(tf.conv2d(tf.ones([2, 8, 8, 3]), w, 1, 'same')));",
      // The filter gradient splits over trainkit's SIMD worker thread (started by initNodeWasmThreads).
      'step();',
      'step();',
      "console.log('done', (await w.data())[0]);",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^done -/m);
  });
});
