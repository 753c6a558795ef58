const tf = require('@tensorflow/tfjs');
const { lawn } = require('@trainkit/lawn');

(async () => {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [4], units: 16, activation: 'relu', useBias: false }),
    tf.layers.dense({ units: 3, useBias: false })] }); // bias-free head: logits scale with its norm
  const opt = lawn(tf.train.adam(0.01), { params: model, freeSteps: 20 }); // 20 free steps, then norms frozen
  model.compile({ optimizer: opt, loss: tf.losses.softmaxCrossEntropy });
  const x = tf.randomNormal([64, 4], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.argMax(x.slice([0, 0], [-1, 3]), 1), 3);
  await model.fit(x, y, { epochs: 10, batchSize: 16, verbose: 0 });
  const now = (await Promise.all(model.layers.map((l) => tf.norm(l.getWeights()[0]).data()))).map((v) => v[0].toFixed(4));
  console.log(opt.phase, 'frozen', opt.frozenNorms().map((f) => f.norms[0].toFixed(4)).join(' '), 'now', now.join(' '));
})();
