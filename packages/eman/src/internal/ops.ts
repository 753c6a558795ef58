import { clone, customGrad, logSoftmax, mul, neg, sum, zerosLike, type Tensor } from '@tensorflow/tfjs-core';

/** Identity whose gradient is zero (tfjs-core has no stop_gradient). */
export const stopGradient: (x: Tensor) => Tensor = customGrad(((x: Tensor) => ({
  value: clone(x),
  gradFunc: (dy: Tensor) => zerosLike(dy),
})) as unknown as Parameters<typeof customGrad>[0]) as (x: Tensor) => Tensor;

/**
 * Per-sample softmax cross-entropy −Σ_c y_c·log softmax(logits)_c (shape [n]). Written by hand because
 * tf.losses.softmaxCrossEntropy trips tfjs' IS_TEST kernel-leak check.
 */
export function crossEntropyPerSample(logits: Tensor, oneHotLabels: Tensor): Tensor {
  return neg(sum(mul(oneHotLabels, logSoftmax(logits)), -1));
}
