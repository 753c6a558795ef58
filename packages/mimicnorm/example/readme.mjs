import * as tf from '@tensorflow/tfjs';
import { mimicNorm } from '@trainkit/mimicnorm';
import { lastBatchNorm } from '@trainkit/mimicnorm/layers';

const model = tf.sequential({ layers: [ // no inner BN: centred convs + one BN on the logits
  tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, activation: 'relu' }), // 9 weights/filter: left alone
  tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }), // 3·3·8 = 72 > 50 weights/filter: centred
  tf.layers.flatten(), tf.layers.dense({ units: 3 }), lastBatchNorm(), tf.layers.activation({ activation: 'softmax' })] });
model.compile({ optimizer: mimicNorm(tf.train.momentum(0.05, 0.9), { params: model }), loss: 'categoricalCrossentropy' });
const x = tf.randomNormal([32, 8, 8, 1], 0, 1, 'float32', 1), y = tf.oneHot(tf.randomUniform([32], 0, 3, 'int32', 2), 3);
const h = await model.fit(x, tf.cast(y, 'float32'), { epochs: 3, batchSize: 8, verbose: 0 });
const worst = (await tf.max(tf.abs(tf.mean(model.layers[1].getWeights()[0], [0, 1, 2]))).data())[0];
console.log('loss', h.history.loss.at(-1).toFixed(3), '| max |filter mean|', worst.toExponential(1));
