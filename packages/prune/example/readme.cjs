const tf = require('@tensorflow/tfjs');
const { readBack, withHooks } = require('@trainkit/core');
const { applyMasks, magnitudeMasks, maskHook, sparsityOf } = require('@trainkit/prune');

const model = tf.sequential({ layers: [tf.layers.dense({ units: 32, inputShape: [8], activation: 'relu' }), tf.layers.dense({ units: 1 })] });
const masks = magnitudeMasks(model, { sparsity: 0.75, scope: 'global' }); // smallest |w| of all kernels
applyMasks(model, masks);
// maskHook zeroes pruned gradients and re-applies the masks after every step: pruned weights stay 0 under Adam.
model.compile({ optimizer: withHooks(tf.train.adam(0.01), maskHook(masks)), loss: 'meanSquaredError' });
model.fit(tf.randomNormal([64, 8]), tf.randomNormal([64, 1]), { epochs: 3, verbose: 0 })
  .then(() => readBack(model.weights.map((w) => w.read()))) // sparsityOf reads synchronously: webgpu needs the values on the host
  .then(() => console.log('kernel sparsity after training', sparsityOf(model).sparsity.toFixed(3)));
