import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '@trainkit/core';
import { classifier, convNormRelu, heInit, normalize, resolveArgs, useConvBias, type ModelArgs, type Resolved } from './common';

/** Options of {@link mobileNetV2}. */
export interface MobileNetV2Args extends ModelArgs {
  /** Channel multiplier α. @defaultValue 0.25 (narrow) */
  alpha?: number;
}

// (expansion t, channels c, repeats n, stride s); CIFAR variant: strides of the stem and stage 2 are 1.
const CFG: Array<[number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 1],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function divisible(v: number, by = 8): number {
  const out = Math.max(by, Math.floor((v + by / 2) / by) * by);
  return out < 0.9 * v ? out + by : out;
}

function inverted(x: tf.SymbolicTensor, r: Resolved, name: string, t: number, out: number, stride: number): tf.SymbolicTensor {
  const inC = x.shape[x.shape.length - 1] as number;
  let y = x;
  if (t !== 1) y = convNormRelu(y, r, `${name}_expand`, inC * t, { kernelSize: 1 });
  y = tf.layers
    .depthwiseConv2d({
      name: `${name}_dw`,
      kernelSize: 3,
      strides: stride,
      padding: 'same',
      useBias: useConvBias(r.norm),
      depthwiseInitializer: heInit(r.seed, `${name}_dw`),
    })
    .apply(y) as tf.SymbolicTensor;
  y = normalize(y, r.norm, `${name}_dw_bn`, 'body');
  y = tf.layers.reLU({ name: `${name}_dw_relu`, maxValue: 6 }).apply(y) as tf.SymbolicTensor;
  y = convNormRelu(y, r, `${name}_project`, out, { kernelSize: 1, relu: false });
  if (stride === 1 && inC === out) y = tf.layers.add({ name: `${name}_add` }).apply([x, y]) as tf.SymbolicTensor;
  return y;
}

/**
 * MobileNetV2 (Sandler et al. 2018) for small inputs: inverted residual blocks with linear bottlenecks, channels scaled
 * by α and rounded to multiples of 8, stem and stage-2 strides set to 1 (the common CIFAR adaptation), the last 1×1
 * conv with round(1280·α) channels, global average pooling, logits.
 *
 * @remarks Uses ReLU (not ReLU6) after 1×1 expansions, ReLU6 after depthwise convs. Layer names: `stem`,
 * `b{i}_expand`, `b{i}_dw`, `b{i}_project`, `b{i}_add`, `last`, `gap`, `logits`.
 * Trainable parameters at 32×32×3, 10 classes, α = 0.25: 162,602 with BN, 158,234 without.
 * @returns a new, uncompiled model that outputs logits (the caller disposes it)
 */
export function mobileNetV2(args: MobileNetV2Args = {}): tf.LayersModel {
  const r = resolveArgs(args);
  const alpha = checkNumber('alpha', args.alpha ?? 0.25, { minExclusive: 0 });
  const input = tf.input({ shape: r.inputShape, name: 'input' });
  let x = convNormRelu(input, r, 'stem', divisible(32 * alpha));
  let i = 0;
  for (const [t, c, n, s] of CFG) {
    for (let k = 0; k < n; k++) x = inverted(x, r, `b${++i}`, t, divisible(c * alpha), k === 0 ? s : 1);
  }
  x = convNormRelu(x, r, 'last', Math.max(divisible(1280 * alpha), 64), { kernelSize: 1 });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: classifier(x, r), name: 'mobileNetV2' });
}
