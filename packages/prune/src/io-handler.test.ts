import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { TrainkitError, registerCoreSerializables, withHooks, type HookedOptimizer } from '@trainkit/core';
import { registerPruneSerializables, maskHook } from './hook';
import { applyMasks, disposeMasks, magnitudeMasks, sparsityOf } from './mask';
import { sparseModelHandler } from './io-handler';

function model(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [16], units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomNormal({ seed: 3 }) }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

const bits = (m: tf.LayersModel): number[][] => m.getWeights().map((w) => Array.from(new Uint32Array((w.dataSync() as Float32Array).slice().buffer)));

describe('sparseModelHandler', () => {
  it('model.save(handler) → tf.loadLayersModel(handler): the same model bit for bit, in N/8 + 4·nnz bytes per sparse tensor', async () => {
    const m = model();
    const masks = magnitudeMasks(m, { sparsity: 0.8 });
    applyMasks(m, masks);
    // A −0 weight must survive as −0 (stored as a non-zero bit pattern).
    tf.tidy(() => {
      m.layers[2]!.weights[1]!.write(tf.tensor1d([-0, 0, 1, -2]));
    });
    const written: Uint8Array[] = [];
    const handler = sparseModelHandler({ write: (b) => void written.push(b) });
    const info = await m.save(handler);
    expect(written[0]).toBe(handler.bytes);
    const loaded = await tf.loadLayersModel(sparseModelHandler({ bytes: handler.bytes! }));
    expect(bits(loaded)).toEqual(bits(m));
    expect(Object.is(loaded.layers[2]!.getWeights()[1]!.dataSync()[0], -0)).toBe(true);
    expect(sparsityOf(loaded).sparsity).toBe(sparsityOf(m).sparsity);
    const x = tf.randomNormal([3, 16], 0, 1, 'float32', 4);
    const [ya, yb] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    // Size: a tensor is bitmask + non-zeros when that is smaller than raw. Kernels [16,32] and [32,4] at 80%; the random
    // bias and BN gamma / moving variance (ones) stay raw; BN beta and moving mean (zeros) cost only their 4-byte
    // bitmask; the last bias [−0, 0, 1, −2] keeps 3 values.
    const sparse = (n: number, kept: number): number => Math.ceil(n / 8) + 4 * kept;
    const expected = sparse(512, 512 - Math.round(0.8 * 512)) + 32 * 4 + 128 + sparse(32, 0) + sparse(32, 0) + 128 + sparse(128, 128 - Math.round(0.8 * 128)) + sparse(4, 3);
    expect(expected).toBe(997);
    expect(info.modelArtifactsInfo.weightDataBytes).toBe(expected);
    disposeMasks(masks);
    tf.dispose([x, ya, yb]);
    m.dispose();
    loaded.dispose();
  });

  it('carries the optimizer (includeOptimizer) and keeps dense tensors dense', async () => {
    registerCoreSerializables();
    registerPruneSerializables();
    const m = model();
    const masks = magnitudeMasks(m, { sparsity: 0.5 });
    applyMasks(m, masks);
    const opt = withHooks(tf.train.sgd(0.1), maskHook(masks));
    m.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const handler = sparseModelHandler();
    const handedOut: tf.Tensor[] = [];
    const gw = opt.getWeights.bind(opt);
    opt.getWeights = async () => {
      const w = await gw();
      handedOut.push(...w.map((t) => t.tensor));
      return w;
    };
    await m.save(handler, { includeOptimizer: true });
    tf.dispose(handedOut);
    const loaded = await tf.loadLayersModel(handler);
    expect((loaded.optimizer as HookedOptimizer).hook('prune')).toBeDefined();
    expect(bits(loaded)).toEqual(bits(m));
    disposeMasks(masks);
    opt.dispose();
    (loaded.optimizer as HookedOptimizer).dispose();
    m.dispose();
    loaded.dispose();
  });

  it('rejects files that are not one, and loading with nothing to load', async () => {
    await expect(sparseModelHandler({ bytes: new Uint8Array([1, 2, 3]) }).load!()).rejects.toThrow(/TKSM/);
    await expect(sparseModelHandler().load!()).rejects.toThrow(TrainkitError);
    const m = model();
    const h = sparseModelHandler();
    await m.save(h);
    const cut = h.bytes!.slice(0, h.bytes!.length - 5);
    await expect(sparseModelHandler({ bytes: cut }).load!()).rejects.toThrow(/truncated/);
    expect(() => sparseModelHandler({ bytes: [1, 2] as never })).toThrow(/Uint8Array/);
    m.dispose();
  });
});
