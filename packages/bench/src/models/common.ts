import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkSeed, deriveSeed, invalidArgument } from '@trainkit/core';
import { centerWeights, mimicInit, mimicNormParams, residualScaleInit } from '@trainkit/mimicnorm';
import { lastBatchNorm, residualScale } from '@trainkit/mimicnorm/layers';
import { batchNormalization } from './batch-norm';

/**
 * How a reference model normalises activations.
 * - `'batch'`: BatchNormalization after every conv/dense of the body (convs then have no bias);
 * - `'none'`: no normalisation layer (convs keep their bias).
 * - `'mimic'`: MimicNorm: no BN in the body (convs keep their bias), a learnable scalar at the end of every residual
 *   branch, one affine-free BN on the logits (`last_bn`); `resnet` and `vgg` centre their eligible convs at build
 *   time. Train with `mimicNorm(optimizer, { params: model })` from `@trainkit/mimicnorm`, which centres them after
 *   every step (and once on creation, for every builder).
 *
 * @remarks Adding a variant (e.g. MimicNorm's `'mimic'`: no BN in the body, one BN before the classifier) takes two
 * edits, both in this file: extend this union and the two switches in {@link normalize} and {@link useConvBias}.
 * Every builder calls those two functions and nothing else to decide about normalisation.
 */
export type Norm = 'batch' | 'none' | 'mimic';

/** The norms every builder accepts. */
export const NORMS: readonly Norm[] = ['batch', 'none', 'mimic'];

/** Options every builder accepts. */
export interface ModelArgs {
  /** One example's shape [h, w, c]. @defaultValue [28, 28, 1] */
  inputShape?: [number, number, number];
  /** Output logits. @defaultValue 10 */
  classes?: number;
  /** @defaultValue 'batch' */
  norm?: Norm;
  /** Seed of every initialiser (each layer derives its own). @defaultValue 1 */
  seed?: number;
}

/** Checked, defaulted {@link ModelArgs}. */
export interface Resolved {
  inputShape: [number, number, number];
  classes: number;
  norm: Norm;
  seed: number;
}

/** Checks and fills {@link ModelArgs}. */
export function resolveArgs(args: ModelArgs): Resolved {
  const inputShape = args.inputShape ?? [28, 28, 1];
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw invalidArgument('inputShape', inputShape, '[height, width, channels] of positive integers');
  }
  const norm = args.norm ?? 'batch';
  if (!NORMS.includes(norm)) throw invalidArgument('norm', norm, NORMS.map((n) => `'${n}'`).join(' | '));
  return {
    inputShape: [...inputShape],
    classes: checkNumber('classes', args.classes ?? 10, { integer: true, min: 2 }),
    norm,
    seed: checkSeed(args.seed ?? 1),
  };
}

/** Where a normalisation call sits: in the body (after a conv/dense) or at the head (on the pooled features, before the classifier). */
export type NormSite = 'body' | 'head';

/**
 * THE place where a normalisation layer is chosen. Builders call it after every conv/dense of the body
 * (`site: 'body'`) and once on the features before the classifier (`site: 'head'`).
 *
 * @param x - the symbolic input
 * @param norm - the model's {@link Norm}
 * @param name - the layer name to use (e.g. `bn1`)
 * @param site - body or head
 * @returns `x` unchanged, or the output of a new layer
 */
export function normalize(x: tf.SymbolicTensor, norm: Norm, name: string, site: NormSite): tf.SymbolicTensor {
  switch (norm) {
    case 'batch':
      return site === 'body' ? (batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor) : x;
    case 'none':
    case 'mimic':
      return x;
  }
}

/** Whether convs/denses of the body carry a bias (not when a BN follows them). The other place that depends on {@link Norm}. */
export function useConvBias(norm: Norm): boolean {
  switch (norm) {
    case 'batch':
      return false;
    case 'none':
    case 'mimic':
      return true;
  }
}

/** He-normal initialiser seeded from (seed, layer name): ReLU layers. */
export function heInit(seed: number, name: string): ReturnType<typeof tf.initializers.heNormal> {
  return tf.initializers.heNormal({ seed: deriveSeed(seed, name, 'kernel') });
}

/** Glorot-uniform initialiser seeded from (seed, layer name): the classifier. */
export function glorotInit(seed: number, name: string): ReturnType<typeof tf.initializers.heNormal> {
  return tf.initializers.glorotUniform({ seed: deriveSeed(seed, name, 'kernel') });
}

/** conv → norm → relu, the basic unit; names `${name}`, `${name}_bn`, `${name}_relu`. */
export function convNormRelu(
  x: tf.SymbolicTensor,
  r: Resolved,
  name: string,
  filters: number,
  opts: { kernelSize?: number; strides?: number; relu?: boolean } = {},
): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({
      name,
      filters,
      kernelSize: opts.kernelSize ?? 3,
      strides: opts.strides ?? 1,
      padding: 'same',
      useBias: useConvBias(r.norm),
      kernelInitializer: heInit(r.seed, name),
    })
    .apply(x) as tf.SymbolicTensor;
  y = normalize(y, r.norm, `${name}_bn`, 'body');
  if (opts.relu !== false) y = tf.layers.reLU({ name: `${name}_relu` }).apply(y) as tf.SymbolicTensor;
  return y;
}

/** The classifier: `head` norm site, then a dense layer named `logits` (no softmax: the models output logits). */
export function classifier(x: tf.SymbolicTensor, r: Resolved): tf.SymbolicTensor {
  const h = normalize(x, r.norm, 'head_bn', 'head');
  const logits = tf.layers.dense({ name: 'logits', units: r.classes, kernelInitializer: glorotInit(r.seed, 'logits') }).apply(h) as tf.SymbolicTensor;
  return r.norm === 'mimic' ? (lastBatchNorm({ name: 'last_bn' }).apply(logits) as tf.SymbolicTensor) : logits;
}

/** MimicNorm only: the residual branch's learnable scalar α_l (init 1.2^2 / l, the reference code's), named `${name}_scale`. */
export function residualBranchScale(y: tf.SymbolicTensor, r: Resolved, name: string, blockIndex: number): tf.SymbolicTensor {
  if (r.norm !== 'mimic') return y;
  return residualScale({ name: `${name}_scale`, initValue: residualScaleInit(blockIndex) }).apply(y) as tf.SymbolicTensor;
}

/**
 * MimicNorm only: optionally re-draws the Conv2D kernels from N(0, gain/fan-in) (`initGain`; the reference VGG uses
 * 2.8, its ResNets keep He), then centres the eligible convs. Other norms: returns the model untouched.
 */
export function finishMimic(model: tf.LayersModel, r: Resolved, initGain?: number): tf.LayersModel {
  if (r.norm !== 'mimic') return model;
  if (initGain !== undefined) mimicInit(model, { gain: initGain, seed: deriveSeed(r.seed, 'mimicInit') });
  const kernels = mimicNormParams(model);
  if (kernels.length > 0) centerWeights(kernels); // a very narrow net may have no filter with > 50 weights
  return model;
}

/** Trainable parameter count of a model. */
export function countParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, d) => p * (d ?? 1), 1), 0);
}
