import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { disposeMasks, magnitudeMasks } from '../mask';
import { disposeSnapshot, snapshot } from '../snapshot';
import { randomReinit } from './reinit';

function model(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [64], units: 256, kernelInitializer: tf.initializers.heNormal({ seed: 1 }), biasInitializer: 'zeros' }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 128, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
}

const stats = (t: tf.Tensor): { mean: number; std: number } => {
  const d = Array.from(t.dataSync());
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  return { mean, std: Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length) };
};

describe('randomReinit', () => {
  it('draws fresh weights from each layer initialiser: different values, same statistics, seeded, masks applied', () => {
    const m = model();
    const theta0 = snapshot(m);
    const masks = magnitudeMasks(m, { sparsity: 0.5 });
    randomReinit(m, 7, { masks });
    const kernel = (i: number): tf.Tensor => m.layers[i]?.weights[0]?.read() as tf.Tensor; // live variable: read, do not dispose
    const k1 = Array.from(kernel(0).dataSync());
    const k1Before = theta0.get(m.layers[0]?.weights[0]?.name as string) as tf.Tensor;
    const a = stats(k1Before);
    randomReinit(m, 8);
    const fresh = tf.clone(kernel(0));
    const b = stats(fresh);
    // Same initialiser (He normal, fan_in 64) → the same std within 5% on 16k draws, mean ≈ 0.
    expect(Math.abs(b.std - a.std) / a.std).toBeLessThan(0.05);
    expect(Math.abs(b.mean)).toBeLessThan(0.01);
    const diff = Array.from(fresh.dataSync()).filter((v, i) => v !== k1Before.dataSync()[i]).length;
    expect(diff).toBeGreaterThan(fresh.size * 0.99);
    // Masks were applied in the first call.
    const md = (masks.get(m.layers[0]?.weights[0]?.name as string) as tf.Tensor).dataSync();
    expect(k1.filter((_, i) => md[i] === 0).every((v) => v === 0)).toBe(true);
    // Seeded: the same seed gives the same draw; BN gamma back to ones.
    tf.tidy(() => {
      m.layers[1]?.weights[0]?.write(tf.fill([256], 2));
    });
    randomReinit(m, 8);
    const again = kernel(0);
    expect(Array.from(again.dataSync())).toEqual(Array.from(fresh.dataSync()));
    const gamma = kernel(1);
    expect(Array.from(gamma.dataSync()).every((v) => v === 1)).toBe(true);
    fresh.dispose();
    disposeMasks(masks);
    disposeSnapshot(theta0);
    m.dispose();
  });

  it('rejects seed 0 and non-models', () => {
    const m = model();
    expect(() => randomReinit(m, 0)).toThrow(/seed/);
    expect(() => randomReinit({} as tf.LayersModel, 1)).toThrow(/model/);
    m.dispose();
  });
});
