// Test-only helpers (not part of the package).
import { seededArray, tf } from '@trainkit/test-utils';

/** dense(6) → BN → relu → dense(classes), seeded; BN momentum 0.9 so statistics move visibly in a few steps. */
export function smallNet(seed: number, opts: { hidden?: number; classes?: number; extraLayer?: boolean } = {}): tf.LayersModel {
  const hidden = opts.hidden ?? 6;
  const layers: tf.layers.Layer[] = [
    tf.layers.dense({ units: hidden, inputShape: [4], kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    tf.layers.batchNormalization({ momentum: 0.9 }),
    tf.layers.activation({ activation: 'relu' }),
  ];
  if (opts.extraLayer) layers.push(tf.layers.dense({ units: hidden, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 7 }) }));
  layers.push(tf.layers.dense({ units: opts.classes ?? 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  return tf.sequential({ layers });
}

/** A seeded input batch [n, 4] with a per-feature offset, so batch statistics are far from the BN init (0/1). */
export function batch(seed: number, n: number): tf.Tensor2D {
  const v = seededArray(seed, n * 4, -1, 1);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * 2 + (i % 4);
  return tf.tensor2d(v, [n, 4]);
}

/** Runs the student once in training mode (moves its BN statistics) and perturbs its trainable weights, like a step. */
export function fakeStep(model: tf.LayersModel, seed: number): void {
  tf.tidy(() => {
    const x = batch(seed, 8);
    model.apply(x, { training: true });
    for (const [i, w] of model.trainableWeights.entries()) {
      const v = w.read();
      w.write(tf.add(v, tf.tensor(seededArray(seed * 31 + i, v.size, -0.1, 0.1), v.shape)));
    }
  });
}

/** Float64 copies of every weight of a model (layer order = paramsOf order). */
export function snapshot(model: tf.LayersModel): Float64Array[] {
  return model.layers.flatMap((l) => l.weights.map((w) => Float64Array.from(w.read().dataSync())));
}

/** Names of the weights in the same order as snapshot, with their role (moving stats vs the rest). */
export function isBuffer(model: tf.LayersModel): boolean[] {
  return model.layers.flatMap((l) => l.weights.map((w) => /moving_(mean|variance)/.test(w.originalName)));
}
