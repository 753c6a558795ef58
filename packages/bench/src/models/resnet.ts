import * as tf from '@tensorflow/tfjs';
import { checkNumber, invalidArgument } from '@trainkit/core';
import { classifier, convNormRelu, finishMimic, residualBranchScale, resolveArgs, type ModelArgs, type Resolved } from './common';

/** Options of {@link resnet}. */
export interface ResNetArgs extends ModelArgs {
  /** 6n+2 layers: 8, 20, 56 (any 6n+2 works). @defaultValue 20 */
  depth?: number;
  /** Filters of the first stage (then ×2, ×4). @defaultValue 16 (He et al.) */
  width?: number;
}

function block(x: tf.SymbolicTensor, r: Resolved, name: string, filters: number, strides: number, index: number): tf.SymbolicTensor {
  let y = convNormRelu(x, r, `${name}_conv1`, filters, { strides });
  y = convNormRelu(y, r, `${name}_conv2`, filters, { relu: false });
  y = residualBranchScale(y, r, name, index);
  const inChannels = x.shape[x.shape.length - 1];
  const shortcut = strides !== 1 || inChannels !== filters ? convNormRelu(x, r, `${name}_proj`, filters, { kernelSize: 1, strides, relu: false }) : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  return tf.layers.reLU({ name: `${name}_relu` }).apply(sum) as tf.SymbolicTensor;
}

/**
 * CIFAR-style ResNet (He et al. 2016, §4.2): conv3×3 → 3 stages of n basic blocks (width, 2·width, 4·width filters;
 * stages 2 and 3 start with stride 2) → global average pooling → logits; depth = 6n + 2.
 *
 * @remarks Shortcuts that change shape use a 1×1 projection conv (+ norm), He et al.'s option B.
 * Layer names: `stem`, `stem_bn`, `s{stage}b{block}_conv1`, `…_conv2`, `…_proj`, `…_add`, `gap`, `logits`.
 * With `norm: 'mimic'`: no `_bn` layers, `…_scale` (the residual scalar) before each `…_add`, and `last_bn` after `logits`.
 * Trainable parameters at 32×32×3, 10 classes, width 16, BN: depth 8 → 78,042; 20 → 272,474; 56 → 855,770.
 * @returns a new, uncompiled model that outputs logits (the caller disposes it)
 * @throws TrainkitError when depth is not 6n+2 with n >= 1
 */
export function resnet(args: ResNetArgs = {}): tf.LayersModel {
  const r = resolveArgs(args);
  const depth = checkNumber('depth', args.depth ?? 20, { integer: true, min: 8 });
  if ((depth - 2) % 6 !== 0) throw invalidArgument('depth', depth, '6n + 2 (8, 20, 32, 44, 56, 110)');
  const width = checkNumber('width', args.width ?? 16, { integer: true, min: 1 });
  const n = (depth - 2) / 6;
  const input = tf.input({ shape: r.inputShape, name: 'input' });
  let x = convNormRelu(input, r, 'stem', width);
  for (let s = 0; s < 3; s++) {
    for (let b = 0; b < n; b++) x = block(x, r, `s${s + 1}b${b + 1}`, width * 2 ** s, s > 0 && b === 0 ? 2 : 1, s * n + b + 1);
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return finishMimic(tf.model({ inputs: input, outputs: classifier(x, r), name: `resnet${depth}` }), r);
}
