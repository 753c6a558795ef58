import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@trainkit/backend';
import { expectCloseToScale, seededArray, tf } from '@trainkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchNormalization } from './batch-norm';

beforeAll(async () => {
  const prev = tf.getBackend();
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  await tf.setBackend(prev);
});


const SHAPE = [6, 3, 4, 5];

/**
 * Three SGD steps of Σ relu(BN(x))·w through a layer in training mode, then one inference call; returns every
 * training output, the input gradient of the last step, the weights (γ, β, moving mean/variance) and the inference output.
 */
async function train(backend: string, layer: tf.layers.Layer): Promise<{ values: Float32Array[]; kernels: string[] }> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const xs = [0, 1, 2].map((i) => tf.tensor(seededArray(10 + i, 360, -2, 2).map((v) => v * 2 + 1), SHAPE));
    const w = tf.tensor(seededArray(20, 360), SHAPE);
    layer.build(SHAPE);
    tf.tidy(() => (layer.trainableWeights[0]?.read() as tf.Variable).assign(tf.tensor1d(seededArray(21, 5, 0.5, 1.5))));
    const opt = tf.train.sgd(0.1);
    const values: Float32Array[] = [];
    let kernels: string[] = [];
    for (const x of xs) {
      const prof = await tf.profile(async () => {
        const { value, grads } = tf.variableGrads(() => {
          const y = layer.apply(x, { training: true }) as tf.Tensor;
          values.push(Float32Array.from(y.dataSync()));
          return tf.sum(tf.mul(tf.relu(y), w)) as tf.Scalar;
        });
        opt.applyGradients(grads);
        tf.dispose([value, ...Object.values(grads)]);
        return [];
      });
      kernels = prof.kernelNames;
    }
    const last = xs[2] as tf.Tensor;
    const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)))(last);
    values.push(Float32Array.from(await dx.data()));
    for (const v of layer.getWeights()) values.push(Float32Array.from(await v.data()));
    const inference = layer.apply(last, { training: false }) as tf.Tensor;
    values.push(Float32Array.from(await inference.data()));
    tf.dispose([...xs, w, dx, inference]);
    for (const v of layer.weights) v.dispose();
    opt.dispose();
    return { values, kernels };
  } finally {
    await tf.setBackend(prev);
  }
}

describe('the bench models’ batch-norm layer', () => {
  it('trains through the fused kernel on wasm and matches stock tf.layers.batchNormalization on cpu, moving averages included', async () => {
    const args = { momentum: 0.9, epsilon: 1e-5, betaInitializer: 'ones' } as const;
    const fused = await train('wasm', batchNormalization(args));
    const stock = await train('cpu', tf.layers.batchNormalization(args));
    expect(fused.kernels).toContain('TrainkitBatchNormTraining');
    expect(fused.kernels).toContain('TrainkitBatchNormTrainingGrad');
    expect(stock.kernels).not.toContain('TrainkitBatchNormTraining');
    // 3 training outputs, dx, γ, β, moving mean, moving variance, inference output.
    expect(fused.values).toHaveLength(9);
    for (let i = 0; i < stock.values.length; i++) expectCloseToScale(fused.values[i] as Float32Array, stock.values[i] as Float32Array);
    // The moving statistics moved off their initial 0 / 1.
    expect(Math.abs((stock.values[6] as Float32Array)[0] as number)).toBeGreaterThan(0.1);
  });

  it('is the stock layer to the outside: class name, config, weights; stock behaviour off wasm', async () => {
    const a = batchNormalization({ name: 'bn_a', momentum: 0.9, epsilon: 1e-5 });
    const b = tf.layers.batchNormalization({ name: 'bn_a', momentum: 0.9, epsilon: 1e-5 });
    expect(a.getClassName()).toBe('BatchNormalization');
    expect(a.getConfig()).toEqual(b.getConfig());
    const fusedCpu = await train('cpu', batchNormalization({ momentum: 0.5 }));
    const stockCpu = await train('cpu', tf.layers.batchNormalization({ momentum: 0.5 }));
    expect(fusedCpu.kernels).not.toContain('TrainkitBatchNormTraining');
    for (let i = 0; i < stockCpu.values.length; i++) expect(Array.from(fusedCpu.values[i] as Float32Array)).toEqual(Array.from(stockCpu.values[i] as Float32Array));
  });
});
