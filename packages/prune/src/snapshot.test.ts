import { describe, expect, it } from 'vitest';
import { expectNoLeak, tf } from '@trainkit/test-utils';
import { disposeMasks, magnitudeMasks } from './mask';
import { disposeSnapshot, restore, snapshot } from './snapshot';

function cnn(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, kernelInitializer: tf.initializers.heNormal({ seed }) }),
      tf.layers.batchNormalization(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const bits = (t: tf.Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

describe('snapshot / restore', () => {
  it('rewind restores unmasked weights (and BN statistics, biases) bit for bit, masked ones to exactly 0', async () => {
    const model = cnn(3);
    const theta0 = snapshot(model);
    expect(theta0.size).toBe(model.weights.length); // trainable and non-trainable
    // "Train": change every variable, BN moving statistics included.
    const x = tf.tidy(() => tf.randomNormal([4, 6, 6, 1], 0, 1, 'float32', 5));
    const opt = tf.train.momentum(0.1, 0.9);
    for (let i = 0; i < 3; i++) {
      opt.minimize(() => tf.tidy(() => tf.mean(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar));
    }
    const masks = magnitudeMasks(model, { sparsity: 0.6 });
    restore(model, theta0, { masks });
    for (const w of model.weights) {
      const v = w.read() as tf.Variable;
      const m = masks.get(v.name);
      const want = bits(theta0.get(v.name) as tf.Tensor);
      const got = bits(v);
      const md = m?.dataSync();
      got.forEach((b, i) => expect(b).toBe(md && md[i] === 0 ? 0 : want[i]));
    }
    // The snapshot is still usable after a restore.
    restore(model, theta0);
    for (const w of model.weights) expect(bits(w.read())).toEqual(bits(theta0.get(w.name) as tf.Tensor));
    x.dispose();
    opt.dispose();
    tf.dispose((opt as unknown as { c: tf.Tensor }).c);
    disposeMasks(masks);
    disposeSnapshot(theta0);
    model.dispose();
  });

  it('rejects unknown and missing variables and wrong shapes; nothing leaks', async () => {
    await expectNoLeak(() => {
      const model = cnn(4);
      const s = snapshot(model);
      const extra = new Map([...s, ['ghost', tf.zeros([1])]]);
      expect(() => restore(model, extra)).toThrow(/ghost/);
      (extra.get('ghost') as tf.Tensor).dispose();
      const first = [...s.keys()][0] as string;
      const partial = new Map([[first, s.get(first) as tf.Tensor]]);
      expect(() => restore(model, partial)).toThrow(/partial/);
      expect(() => restore(model, partial, { partial: true })).not.toThrow();
      const bad = new Map([[first, tf.zeros([2])]]);
      expect(() => restore(model, bad, { partial: true })).toThrow(/shape/);
      (bad.get(first) as tf.Tensor).dispose();
      disposeSnapshot(s);
      disposeSnapshot(s);
      model.dispose();
    });
  });
});
