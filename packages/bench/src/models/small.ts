import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '@trainkit/core';
import { classifier, convNormRelu, heInit, normalize, resolveArgs, useConvBias, type ModelArgs } from './common';

/** Options of {@link smallCnn}. */
export interface SmallCnnArgs extends ModelArgs {
  /** Filters of the two conv layers. @defaultValue [16, 32] */
  filters?: [number, number];
  /** Units of the hidden dense layer. @defaultValue 64 */
  hidden?: number;
}

/**
 * A small CNN for 28×28 images: conv3×3(16) → norm → relu → maxpool2 → conv3×3(32) → norm → relu → maxpool2 →
 * flatten → dense(64) → norm → relu → logits.
 *
 * @remarks Layer names: `conv1`, `conv1_bn`, `conv1_relu`, `pool1`, `conv2`, …, `pool2`, `flatten`, `fc1`, `fc1_bn`,
 * `fc1_relu`, `logits`. 28×28×1 input, 10 classes: 105,978 trainable parameters with BN, 105,866 without.
 * @returns a new, uncompiled model that outputs logits (the caller disposes it)
 */
export function smallCnn(args: SmallCnnArgs = {}): tf.LayersModel {
  const r = resolveArgs(args);
  const [f1, f2] = args.filters ?? [16, 32];
  const hidden = checkNumber('hidden', args.hidden ?? 64, { integer: true, min: 1 });
  const input = tf.input({ shape: r.inputShape, name: 'input' });
  let x = convNormRelu(input, r, 'conv1', f1);
  x = tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = convNormRelu(x, r, 'conv2', f2);
  x = tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'fc1', units: hidden, useBias: useConvBias(r.norm), kernelInitializer: heInit(r.seed, 'fc1') }).apply(x) as tf.SymbolicTensor;
  x = normalize(x, r.norm, 'fc1_bn', 'body');
  x = tf.layers.reLU({ name: 'fc1_relu' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: classifier(x, r), name: 'smallCnn' });
}

/** Options of {@link mlp}. */
export interface MlpArgs extends ModelArgs {
  /** Hidden layer sizes. @defaultValue [256, 128] */
  hidden?: number[];
}

/**
 * A multilayer perceptron: flatten → (dense → norm → relu) per hidden size → logits.
 *
 * @remarks Layer names: `flatten`, `fc1`, `fc1_bn`, `fc1_relu`, `fc2`, …, `logits`. 28×28×1 input, 10 classes,
 * default sizes: 235,530 trainable parameters with BN, 235,146 without.
 * @returns a new, uncompiled model that outputs logits (the caller disposes it)
 */
export function mlp(args: MlpArgs = {}): tf.LayersModel {
  const r = resolveArgs(args);
  const hidden = args.hidden ?? [256, 128];
  hidden.forEach((h, i) => checkNumber(`hidden[${i}]`, h, { integer: true, min: 1 }));
  const input = tf.input({ shape: r.inputShape, name: 'input' });
  let x = tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor;
  hidden.forEach((units, i) => {
    const name = `fc${i + 1}`;
    x = tf.layers.dense({ name, units, useBias: useConvBias(r.norm), kernelInitializer: heInit(r.seed, name) }).apply(x) as tf.SymbolicTensor;
    x = normalize(x, r.norm, `${name}_bn`, 'body');
    x = tf.layers.reLU({ name: `${name}_relu` }).apply(x) as tf.SymbolicTensor;
  });
  return tf.model({ inputs: input, outputs: classifier(x, r), name: 'mlp' });
}
