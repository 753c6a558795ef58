import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor } from '@trainkit/core';
import { BatchNormTraining, batchNormTrainingConfig } from './kernels/batch-norm';

/** Result of {@link batchNormTraining}: the normalised batch and the batch statistics (per channel). */
export interface BatchNormTrainingResult {
  /** (x − mean)/√(variance + ε)·scale + offset, shape of x. */
  y: tf.Tensor;
  /** Per-channel batch mean, shape [C]. */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance, shape [C]. */
  variance: tf.Tensor1D;
}

/** Whether {@link batchNormTraining} runs trainkit's fused kernel now (wasm active, trainkit's kernels registered). */
export function fusedBatchNormActive(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(BatchNormTraining, 'wasm')?.kernelFunc === batchNormTrainingConfig.kernelFunc;
}

/**
 * Training-mode batch normalisation over every axis but the last (channels-last), with its gradient:
 * what `tf.layers.batchNormalization` computes in training (`tf.moments` then `tf.batchNorm`). On wasm with
 * trainkit's kernels registered it runs as one forward kernel (one statistics pass, one normalise pass) whose
 * gradient is the closed form in two passes; elsewhere it is exactly `tf.moments` + `tf.batchNorm`.
 *
 * @param x - float32 tensor of rank ≥ 2, channels last
 * @param scale - γ, shape [C]
 * @param offset - β, shape [C]
 * @param epsilon - ε added to the variance @defaultValue 1e-3 (the Keras default)
 * @returns y, mean and variance (the caller disposes them)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` / `SHAPE_MISMATCH` naming the argument
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-cpu';
 * import { batchNormTraining } from '@trainkit/backend';
 * const x = tf.tensor2d([[1, 10], [3, 30]]);
 * const { y, mean, variance } = batchNormTraining(x, tf.ones([2]), tf.zeros([2]), 0);
 * console.log(mean.arraySync(), variance.arraySync()); // [2, 20] [1, 100]
 * tf.dispose([x, y, mean, variance]);
 * ```
 */
export function batchNormTraining(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, epsilon = 1e-3): BatchNormTrainingResult {
  checkTensor('x', x, { dtypes: ['float32'], minRank: 2 });
  const c = x.shape[x.rank - 1] as number;
  checkTensor('scale', scale, { dtypes: ['float32'], shape: [c] });
  checkTensor('offset', offset, { dtypes: ['float32'], shape: [c] });
  checkNumber('epsilon', epsilon, { min: 0 });
  if (fusedBatchNormActive() && x.size > 0) {
    const [y, mean, variance] = tf.engine().runKernel(BatchNormTraining, { x, scale, offset }, { varianceEpsilon: epsilon } as never) as tf.Tensor[];
    return { y: y as tf.Tensor, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}
