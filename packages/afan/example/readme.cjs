const tf = require('@tensorflow/tfjs');
const { afanLoss } = require('@trainkit/afan');
const { splitModel } = require('@trainkit/afan/layers');

const model = tf.sequential({ layers: [
  tf.layers.dense({ units: 16, activation: 'relu', inputShape: [8], name: 'features' }),
  tf.layers.dense({ units: 3 })] });
const { front, back } = splitModel(model, 'features'); // perturb the 16 features, train both halves
const x = tf.randomNormal([64, 8], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.argMax(x.slice([0, 0], [-1, 3]), 1), 3); // label = the largest of the first 3 inputs
const opt = tf.train.adam(0.02);
for (let step = 0; step < 60; step++) opt.minimize(() => afanLoss({ front, back, x, y, stepSize: 0.05, useNormalization: true }));
tf.metrics.categoricalAccuracy(y, model.predict(x)).mean().data().then((v) => console.log('train accuracy', v[0].toFixed(2)));
