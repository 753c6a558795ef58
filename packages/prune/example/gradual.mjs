import * as tf from '@tensorflow/tfjs';
import { gradualPruning, polynomialDecay, sparsityOf } from '@trainkit/prune';

const model = tf.sequential({ layers: [tf.layers.dense({ units: 32, inputShape: [8], activation: 'relu' }), tf.layers.dense({ units: 1 })] });
// Zhu & Gupta / TF-MOT PolynomialDecay: 0 → 80% over steps 0–40, masks recomputed every 10 steps.
const schedule = polynomialDecay({ initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 40, frequency: 10 });
model.compile({ optimizer: gradualPruning(tf.train.adam(0.01), model, schedule), loss: 'meanSquaredError' });
const seen = [];
await model.fit(tf.randomNormal([64, 8]), tf.randomNormal([64, 1]), { epochs: 6, batchSize: 8, verbose: 0,
  callbacks: { onEpochEnd: async () => void seen.push(sparsityOf(model).sparsity.toFixed(3)) } });
console.log('kernel sparsity after each epoch', seen.join(' '));
