import * as tf from '@tensorflow/tfjs';
import { withHooks } from '@trainkit/core';

// A hook that clips every gradient to [-1, 1] before Adam sees it.
const clip = { name: 'clip', transformGradients: (grads) =>
  Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.clipByValue(g, -1, 1)])) };
const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
model.compile({ optimizer: withHooks(tf.train.adam(0.1), clip), loss: 'meanSquaredError' });
const h = await model.fit(tf.ones([8, 2]), tf.ones([8, 1]), { epochs: 5, verbose: 0 });
console.log('loss', h.history.loss.at(-1));
