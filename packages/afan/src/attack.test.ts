import { describe, expect, it } from 'vitest';
import { expectNoLeak, expectTensorClose, seededData, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { adversarialFeatures, attackDefaults } from './attack';
import { softmaxCrossEntropy } from './loss';

/** A linear back: logits = f·W + b (convex loss in f). */
function linearBack(seed: number, d: number, classes: number) {
  const W = seededVariable(seed, [d, classes], undefined, -1, 1);
  const b = seededVariable(seed + 1, [classes], undefined, -0.5, 0.5);
  return { back: (f: tf.Tensor) => tf.add(tf.matMul(f as tf.Tensor2D, W), b), dispose: () => tf.dispose([W, b]) };
}

/** A small tfjs-layers back with BatchNormalization (seeded). */
function bnBack(d: number, classes: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [d], kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.dense({ units: classes, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
}

function weightValues(model: tf.LayersModel, which: 'trainable' | 'all'): Float32Array[] {
  const ws = which === 'trainable' ? model.trainableWeights : model.weights;
  return ws.map((w) => w.read().dataSync() as Float32Array).map((a) => Float32Array.from(a));
}

describe('adversarialFeatures', () => {
  it('defaults are the reference code’s (K = 5, α = 0.5/255, ε = 2/255, no random start, no clip, train mode)', () => {
    expect(attackDefaults).toEqual({ steps: 5, stepSize: 0.5 / 255, epsilon: 2 / 255, randomStart: false, clip: false, training: true });
  });

  it('one step increases the loss of a linear back by at least α·‖∇_f L‖₁ (convexity)', () => {
    const { x: f, y } = seededData(11, 16, 6, 3);
    const { back, dispose } = linearBack(12, 6, 3);
    const alpha = 0.1;
    const fAdv = adversarialFeatures(back, f, y, { steps: 1, stepSize: alpha });
    const clean = tf.tidy(() => softmaxCrossEntropy(y, back(f)).dataSync()[0] as number);
    const adv = tf.tidy(() => softmaxCrossEntropy(y, back(fAdv)).dataSync()[0] as number);
    const gradL1 = tf.tidy(() => tf.sum(tf.abs(tf.grad((v: tf.Tensor) => softmaxCrossEntropy(y, back(v)))(f))).dataSync()[0] as number);
    expect(gradL1).toBeGreaterThan(0);
    // L(f + δ) ≥ L(f) + ∇L·δ = L(f) + α·Σ|∇L| since δ = α·sign(∇L)
    expect(adv).toBeGreaterThan(clean);
    expect(adv).toBeGreaterThanOrEqual(clean + alpha * gradL1 - 1e-5);
    tf.dispose([f, y, fAdv]);
    dispose();
  });

  it('δ lies on the sign lattice α·{−K, −K+2, …, K} and within the budget K·α', () => {
    const { x: f, y } = seededData(21, 12, 5, 3);
    const W1 = seededVariable(22, [5, 7]);
    const W2 = seededVariable(23, [7, 3]);
    const back = (v: tf.Tensor) => tf.matMul(tf.tanh(tf.matMul(v as tf.Tensor2D, W1)), W2);
    const K = 3;
    const alpha = 0.25;
    const fAdv = adversarialFeatures(back, f, y, { steps: K, stepSize: alpha, training: false });
    const delta = tf.tidy(() => tf.sub(fAdv, f).dataSync() as Float32Array);
    for (const d of delta) {
      const units = d / alpha;
      expect(Math.abs(units)).toBeLessThanOrEqual(K + 1e-5);
      expect(Math.abs(units - Math.round(units))).toBeLessThan(1e-4); // an integer number of steps…
      expect(Math.abs(Math.round(units)) % 2).toBe(K % 2); // …with the parity of K
    }
    tf.dispose([f, y, fAdv, W1, W2]);
  });

  it('clip keeps |δ| ≤ ε, also from a random start; the start is reproducible from its seed', () => {
    const { x: f, y } = seededData(31, 10, 4, 3);
    const { back, dispose } = linearBack(32, 4, 3);
    const opts = { steps: 4, stepSize: 0.3, epsilon: 0.5, randomStart: true, clip: true, seed: 7 };
    const a = adversarialFeatures(back, f, y, opts);
    const b = adversarialFeatures(back, f, y, opts);
    const c = adversarialFeatures(back, f, y, { ...opts, seed: 8, steps: 0 });
    const d = adversarialFeatures(back, f, y, { ...opts, seed: 9, steps: 0 });
    const maxDelta = tf.tidy(() => tf.max(tf.abs(tf.sub(a, f))).dataSync()[0] as number);
    expect(maxDelta).toBeLessThanOrEqual(0.5 + 1e-6);
    expectTensorClose(a, b, { atol: 0, rtol: 0 });
    const startGap = tf.tidy(() => tf.max(tf.abs(tf.sub(c, d))).dataSync()[0] as number);
    expect(startGap).toBeGreaterThan(0.01); // different seeds, different starts
    tf.dispose([f, y, a, b, c, d]);
    dispose();
  });

  it('without clip the random start adds at most ε to the budget: |δ| ≤ ε + K·α', () => {
    const { x: f, y } = seededData(41, 10, 4, 3);
    const { back, dispose } = linearBack(42, 4, 3);
    const fAdv = adversarialFeatures(back, f, y, { steps: 2, stepSize: 0.1, epsilon: 0.3, randomStart: true, seed: 5 });
    const maxDelta = tf.tidy(() => tf.max(tf.abs(tf.sub(fAdv, f))).dataSync()[0] as number);
    expect(maxDelta).toBeLessThanOrEqual(0.3 + 2 * 0.1 + 1e-6);
    expect(maxDelta).toBeGreaterThan(2 * 0.1 - 1e-6); // both steps and some of the start are there
    tf.dispose([f, y, fAdv]);
    dispose();
  });

  it('steps = 0 (no random start) returns the features unchanged', () => {
    const { x: f, y } = seededData(51, 6, 4, 3);
    const { back, dispose } = linearBack(52, 4, 3);
    const fAdv = adversarialFeatures(back, f, y, { steps: 0 });
    expectTensorClose(fAdv, f, { atol: 0, rtol: 0 });
    tf.dispose([f, y, fAdv]);
    dispose();
  });

  it('never changes trainable weights; in inference mode (training: false) not even BN moving statistics', () => {
    const { x: f, y } = seededData(61, 16, 6, 3);
    const back = bnBack(6, 3);
    const trainable = weightValues(back, 'trainable');
    const fAdv = adversarialFeatures(back, f, y, { steps: 3, stepSize: 0.05 });
    weightValues(back, 'trainable').forEach((w, i) => expectTensorClose(w, trainable[i] as Float32Array, { atol: 0, rtol: 0 }));

    const all = weightValues(back, 'all');
    const fAdv2 = adversarialFeatures(back, f, y, { steps: 3, stepSize: 0.05, training: false });
    weightValues(back, 'all').forEach((w, i) => expectTensorClose(w, all[i] as Float32Array, { atol: 0, rtol: 0 }));
    tf.dispose([f, y, fAdv, fAdv2]);
    back.dispose();
  });

  it('in train mode, BatchNormalization uses batch statistics (the result differs from inference mode)', () => {
    const { x: f, y } = seededData(71, 16, 6, 3);
    const back = bnBack(6, 3);
    const train = adversarialFeatures(back, f, y, { steps: 2, stepSize: 0.05, training: true });
    const infer = adversarialFeatures(back, f, y, { steps: 2, stepSize: 0.05, training: false });
    const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(train, infer))).dataSync()[0] as number);
    expect(gap).toBeGreaterThan(0.01); // some sign of the gradient differs
    tf.dispose([f, y, train, infer]);
    back.dispose();
  });

  it('in inference mode each sample is attacked independently: changing one sample leaves the others’ δ unchanged', () => {
    const { x: f, y } = seededData(75, 8, 6, 3);
    const back = bnBack(6, 3);
    const opts = { steps: 3, stepSize: 0.05, training: false };
    const other = tf.tidy(() => tf.concat([tf.mul(tf.slice(f, [0, 0], [1, -1]), -2), tf.slice(f, [1, 0], [-1, -1])]));
    const a = adversarialFeatures(back, f, y, opts);
    const b = adversarialFeatures(back, other, y, opts);
    const [da, db] = tf.tidy(() => [tf.slice(tf.sub(a, f), [1, 0], [-1, -1]), tf.slice(tf.sub(b, other), [1, 0], [-1, -1])]);
    expectTensorClose(da as tf.Tensor, db as tf.Tensor, { atol: 1e-6, rtol: 0 });
    tf.dispose([f, y, other, a, b, da as tf.Tensor, db as tf.Tensor]);
    back.dispose();
  });

  it('takes integer class ids as labels with the default loss (same result as one-hot)', () => {
    const { x: f, y, labels } = seededData(81, 8, 4, 3);
    const { back, dispose } = linearBack(82, 4, 3);
    const ids = tf.tensor1d(labels, 'int32');
    const a = adversarialFeatures(back, f, y, { steps: 2, stepSize: 0.1 });
    const b = adversarialFeatures(back, f, ids, { steps: 2, stepSize: 0.1 });
    expectTensorClose(a, b, { atol: 0, rtol: 0 });
    tf.dispose([f, y, ids, a, b]);
    dispose();
  });

  it('leaks no tensor and disposes none of its inputs', async () => {
    const { x: f, y } = seededData(91, 8, 4, 3);
    const back = bnBack(4, 3);
    await expectNoLeak(() => tf.dispose(adversarialFeatures(back, f, y, { steps: 3, stepSize: 0.1, randomStart: true, seed: 3 })));
    expect(f.isDisposed || y.isDisposed).toBe(false);
    tf.dispose([f, y]);
    back.dispose();
  });

  it('throws TrainkitError on bad options and inputs', () => {
    const { x: f, y } = seededData(101, 4, 3, 3);
    const { back, dispose } = linearBack(102, 3, 3);
    const bad: Array<[unknown, RegExp]> = [
      [{ steps: -1 }, /options\.steps must be an integer >= 0/],
      [{ steps: 1.5 }, /options\.steps/],
      [{ stepSize: Number.NaN }, /options\.stepSize/],
      [{ stepSize: -0.1 }, /options\.stepSize/],
      [{ epsilon: -1 }, /options\.epsilon/],
      [{ randomStart: 1 }, /options\.randomStart must be true or false/],
      [{ clip: 'yes' }, /options\.clip/],
      [{ seed: 0 }, /options\.seed/],
      [{ lossFn: 3 }, /options\.lossFn/],
      [{ training: 'train' }, /options\.training/],
      [{ stpes: 3 }, /options\.stpes/],
      [null, /options must be an options object/],
    ];
    for (const [opts, msg] of bad) {
      expect(() => adversarialFeatures(back, f, y, opts as never)).toThrow(msg);
      expect(() => adversarialFeatures(back, f, y, opts as never)).toThrow(TrainkitError);
    }
    const ints = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    expect(() => adversarialFeatures(back, ints, y)).toThrow(/features must be a live float32/);
    expect(() => adversarialFeatures('back' as never, f, y)).toThrow(/back must be a function/);
    expect(() => adversarialFeatures(back, f, [1] as never)).toThrow(/labels must be a live tf.Tensor/);
    tf.dispose([f, y, ints]);
    dispose();
  });
});
