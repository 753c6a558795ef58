import { describe, expect, it } from 'vitest';
import { expectTensorClose, tf } from '@trainkit/test-utils';
import { useBackend } from './use-backend';

/** The filter gradient of sum(conv2d(x, w)) on the active backend, as plain numbers. */
async function filterGrad(xs: Float32Array, ws: Float32Array): Promise<Float32Array> {
  const x = tf.tensor4d(xs, [2, 6, 6, 3]);
  const w = tf.tensor4d(ws, [3, 3, 3, 4]);
  const dw = tf.grad((k: tf.Tensor) => tf.sum(tf.conv2d(x, k as tf.Tensor4D, 1, 'same')))(w);
  const out = (await dw.data()) as Float32Array;
  tf.dispose([x, w, dw]);
  return out;
}

// Its own file, so its own process (pool 'forks'): wasm starts here, with threads.
describe("useBackend('wasm', { threads }) in Node", () => {
  it('starts the threaded wasm build (initNodeWasmThreads), reports the threads tfjs uses, and trains as cpu does', async () => {
    const xs = Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37));
    const ws = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
    const info = await useBackend('wasm', { threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', threads: 2, warnings: [], trainingKernels: 'trainkit' });
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = await filterGrad(xs, ws);
    await tf.setBackend('cpu');
    const onCpu = await filterGrad(xs, ws);
    const [a, e] = [tf.tensor1d(onWasm), tf.tensor1d(onCpu)];
    expectTensorClose(a, e, { atol: 1e-3, rtol: 1e-3 });
    tf.dispose([a, e]);
  });
});
