import { describe, expect, it, beforeAll } from 'vitest';
import { tf, seededArray, expectTensorClose } from '@trainkit/test-utils';
import { initWasm } from './internal/test-helpers';
import { batchNormTraining } from './batch-norm-training';

beforeAll(initWasm);

/** A tiny CNN exercising every replaced kernel: strided conv, BN (composed, then fused), depthwise (multiplier 2), max-pool, dense. */
const SHAPES: Record<string, number[]> = {
  c1: [3, 3, 2, 4],
  c1b: [4],
  gamma: [4],
  beta: [4],
  dw: [3, 3, 4, 2],
  gamma2: [8],
  beta2: [8],
  c2: [1, 1, 8, 6],
  d: [3 * 3 * 6, 5],
  db: [5],
};

function makeVars(): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  let seed = 100;
  for (const [name, shape] of Object.entries(SHAPES)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const init = name.startsWith('gamma') ? new Float32Array(n).fill(1) : seededArray(seed++, n, -0.5, 0.5);
    out[name] = tf.tidy(() => tf.variable(tf.tensor(init, shape), true, `tk_${name}_${tf.getBackend()}_${Math.random()}`));
  }
  return out;
}

function loss(v: Record<string, tf.Variable>, x: tf.Tensor4D, y: tf.Tensor2D): tf.Scalar {
  const V = v as Record<string, tf.Tensor>;
  let h: tf.Tensor = tf.conv2d(x, V['c1'] as tf.Tensor4D, 2, 'same'); // [B,6,6,4]
  h = tf.add(h, V['c1b'] as tf.Tensor1D);
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  h = tf.batchNorm(h, mean, variance, V['beta'] as tf.Tensor1D, V['gamma'] as tf.Tensor1D, 1e-3);
  h = tf.relu(h);
  h = tf.depthwiseConv2d(h as tf.Tensor4D, V['dw'] as tf.Tensor4D, 1, 'same'); // [B,6,6,8]
  h = batchNormTraining(h, V['gamma2'] as tf.Tensor1D, V['beta2'] as tf.Tensor1D, 1e-3).y;
  h = tf.relu6(h);
  h = tf.conv2d(h as tf.Tensor4D, V['c2'] as tf.Tensor4D, 1, 'valid'); // [B,6,6,6]
  h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'); // [B,3,3,6]
  const flat = tf.reshape(h, [x.shape[0], -1]);
  const logits = tf.add(tf.matMul(flat, V['d'] as tf.Tensor2D), V['db'] as tf.Tensor1D);
  return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

// SGD, not Adam: Adam divides by √v, so components whose gradient is ~0 move by ±lr on float noise
// and no tolerance tells a kernel bug from that. Plain SGD keeps weight differences proportional to
// gradient differences.
async function train(backend: string, steps: number): Promise<{ losses: number[]; weights: Record<string, Float32Array> }> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  const v = makeVars();
  const opt = tf.train.sgd(0.1);
  const x = tf.tensor4d(seededArray(1, 6 * 12 * 12 * 2), [6, 12, 12, 2]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5) as tf.Tensor2D);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(() => loss(v, x, y), true, Object.values(v));
    losses.push((await (l as tf.Scalar).data())[0] as number);
    l?.dispose();
  }
  const weights: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(v)) weights[k] = Float32Array.from(await t.data());
  tf.dispose([x, y, ...Object.values(v)]);
  opt.dispose();
  await tf.setBackend(prev);
  return { losses, weights };
}

describe('training on wasm with trainkit kernels', () => {
  it('a tiny CNN trained 3 SGD steps on wasm equals the same run on cpu (across-backend tolerance 1e-3)', async () => {
    const wasm = await train('wasm', 3);
    const cpu = await train('cpu', 3);
    expectTensorClose(wasm.losses, cpu.losses, { atol: 1e-3, rtol: 1e-3 });
    // The loss moves: the gradients are not zero.
    expect(Math.abs((cpu.losses[2] as number) - (cpu.losses[0] as number))).toBeGreaterThan(1e-3);
    for (const k of Object.keys(SHAPES)) expectTensorClose(wasm.weights[k] as Float32Array, cpu.weights[k] as Float32Array, { atol: 1e-3, rtol: 1e-3 });
  });

  it('200 training steps on wasm grow neither tensors nor wasm buffers', async () => {
    const prev = tf.getBackend();
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const v = makeVars();
    const opt = tf.train.adam(0.01);
    const x = tf.tensor4d(seededArray(1, 6 * 12 * 12 * 2), [6, 12, 12, 2]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5) as tf.Tensor2D);
    const step = () => opt.minimize(() => loss(v, x, y), true, Object.values(v))?.dispose();
    for (let i = 0; i < 3; i++) step();
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    for (let i = 0; i < 200; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, y, ...Object.values(v)]);
    opt.dispose();
    await tf.setBackend(prev);
  });
});
