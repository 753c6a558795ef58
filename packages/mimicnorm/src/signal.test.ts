import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { centerWeights } from './center';
import { MIMIC_INIT_GAIN, mimicInit } from './init';

// Paper Fig. 2 / Suppl. B.1, the fully connected setting of the theory: in a deep He-initialised ReLU net the
// pre-activations of different inputs become almost collinear with depth; with centred weights and the MimicNorm gain
// they stay decorrelated, and the mean-square activation stays O(1). Width 200, depth 30, 20 inputs (CPU-cheap).
const WIDTH = 200;
const DEPTH = 30;
const N = 20;

function propagate(center: boolean, gain: number): { meanCorr: number; meanSquares: number[] } {
  const kernels = Array.from({ length: DEPTH }, (_, l) => tf.tidy(() => tf.variable(tf.zeros([WIDTH, WIDTH]), true, `sp_${center}_${l}`)));
  mimicInit(kernels, { gain, seed: 5 });
  if (center) centerWeights(kernels);
  const out = tf.tidy(() => {
    const meanSquares: number[] = [];
    let h = tf.randomNormal([N, WIDTH], 0, 1, 'float32', 9) as tf.Tensor2D;
    kernels.forEach((w, l) => {
      h = tf.matMul(l === 0 ? h : tf.relu(h), w);
      meanSquares.push(tf.mean(tf.square(h)).dataSync()[0]!);
    });
    const unit = tf.div(h, tf.norm(h, 2, 1, true));
    const c = tf.matMul(unit, unit, false, true).arraySync() as number[][];
    let s = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (i !== j) s += c[i]![j]!;
    return { meanCorr: s / (N * (N - 1)), meanSquares };
  });
  tf.dispose(kernels);
  return out;
}

describe('signal propagation (theory check)', () => {
  it('plain He: correlations go to ~1 with depth; centred + mimic gain: they stay near 0 with O(1) activations', () => {
    const plain = propagate(false, 2);
    const mimic = propagate(true, MIMIC_INIT_GAIN);
    expect(plain.meanCorr).toBeGreaterThan(0.8); // measured ≈ 0.94–0.96
    expect(Math.abs(mimic.meanCorr)).toBeLessThan(0.15); // measured ≈ 0.00–0.02
    for (const m of mimic.meanSquares) {
      expect(m).toBeGreaterThan(0.2);
      expect(m).toBeLessThan(20);
    }
  });
});
