const tf = require('@tensorflow/tfjs');
const { withHooks } = require('@trainkit/core');
const { emaTeacher, emanHook } = require('@trainkit/eman/layers');

const student = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4] }),
  tf.layers.batchNormalization(), tf.layers.dense({ units: 3, activation: 'softmax' })] });
const teacher = emaTeacher(student, { momentum: 0.9 }); // EMAN: weights and BN statistics averaged
student.compile({ optimizer: withHooks(tf.train.sgd(0.1), emanHook(teacher)), loss: 'categoricalCrossentropy' });
student.fit(tf.randomNormal([32, 4]), tf.oneHot(tf.randomUniform([32], 0, 3, 'int32'), 3), { epochs: 2, batchSize: 8, verbose: 0 }).then(async () => {
  const x = tf.randomNormal([8, 4]);
  const gap = (await tf.abs(tf.sub(teacher.predict(x.slice(0, 1)), teacher.predict(x).slice(0, 1))).max().data())[0];
  console.log(`teacher updates: ${teacher.step}; sample 0 alone vs in a batch of 8 differs by ${gap.toExponential(1)}`);
});
