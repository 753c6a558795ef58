import * as tf from '@tensorflow/tfjs';
import { checkNumber, invalidArgument } from '@trainkit/core';
import { classifier, convNormRelu, finishMimic, resolveArgs, type ModelArgs } from './common';

/** Options of {@link vgg}. */
export interface VggArgs extends ModelArgs {
  /** Only 11 (configuration A). @defaultValue 11 */
  depth?: 11;
  /** Filter multiplier on VGG's 64-128-256-512-512. @defaultValue 0.125 (narrow: 8-16-32-64-64) */
  widthMultiplier?: number;
}

const CFG_A: Array<number | 'M'> = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

/**
 * VGG-11 (Simonyan & Zisserman, configuration A) in the CIFAR style: 8 conv3×3 → norm → relu layers with 5 max-pools,
 * then global average pooling and one dense classifier; filters scaled by `widthMultiplier`.
 *
 * @remarks A pool is skipped when the feature map is already 1 pixel wide (28×28 inputs have room for 4).
 * Layer names: `conv1`…`conv8` (+ `_bn`, `_relu`), `pool1`…, `gap`, `logits`.
 * Trainable parameters at 32×32×3, 10 classes, ×0.125, BN: 145,554.
 * @returns a new, uncompiled model that outputs logits (the caller disposes it)
 */
export function vgg(args: VggArgs = {}): tf.LayersModel {
  const r = resolveArgs(args);
  if ((args.depth ?? 11) !== 11) throw invalidArgument('depth', args.depth, '11');
  const mult = checkNumber('widthMultiplier', args.widthMultiplier ?? 0.125, { minExclusive: 0 });
  const input = tf.input({ shape: r.inputShape, name: 'input' });
  let x: tf.SymbolicTensor = input;
  let conv = 0;
  let pool = 0;
  let size = Math.min(r.inputShape[0], r.inputShape[1]);
  for (const c of CFG_A) {
    if (c === 'M') {
      if (size < 2) continue;
      x = tf.layers.maxPooling2d({ name: `pool${++pool}`, poolSize: 2 }).apply(x) as tf.SymbolicTensor;
      size = Math.floor(size / 2);
    } else {
      x = convNormRelu(x, r, `conv${++conv}`, Math.max(1, Math.round(c * mult)));
    }
  }
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return finishMimic(tf.model({ inputs: input, outputs: classifier(x, r), name: 'vgg11' }), r, 2.8);
}
