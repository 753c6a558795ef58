import { cast, logSoftmax, mean, mul, neg, oneHot, sum, tidy, type Scalar, type Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, checkTensor } from '@trainkit/core';

/** A training loss: `(labels, logits) => scalar`. */
export type LossFn = (labels: Tensor, logits: Tensor) => Scalar;

/**
 * Softmax cross-entropy averaged over the batch, the loss the A-FAN reference code attacks and trains with.
 *
 * @param labels - one-hot labels `[batch, classes]`, or integer class ids `[batch]`
 * @param logits - unnormalised scores `[batch, classes]`
 * @returns a new scalar (the caller disposes it)
 * @throws {@link TrainkitError} `SHAPE_MISMATCH` when the shapes do not fit together
 * @remarks CE = −mean_n Σ_c y_nc · log softmax(z_n)_c. Written out rather than via `tf.losses.softmaxCrossEntropy`,
 * whose internal `Reduction` path trips tfjs' kernel-leak check under `IS_TEST`.
 */
export function softmaxCrossEntropy(labels: Tensor, logits: Tensor): Scalar {
  checkTensor('labels', labels);
  checkTensor('logits', logits, { dtypes: ['float32'] });
  if (logits.rank !== 2) {
    throw new TrainkitError('SHAPE_MISMATCH', `logits must be [batch, classes]; received shape [${logits.shape}].`, 'logits');
  }
  const [n, classes] = logits.shape as [number, number];
  const ok = labels.rank === 1 ? labels.shape[0] === n : labels.rank === 2 && labels.shape[0] === n && labels.shape[1] === classes;
  if (!ok) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `labels must be one-hot [${n}, ${classes}] or class ids [${n}] to match logits [${logits.shape}]; received shape [${labels.shape}].`,
      'labels',
    );
  }
  return tidy(() => {
    const y = labels.rank === 1 ? oneHot(cast(labels, 'int32'), classes) : labels;
    return neg(mean(sum(mul(cast(y, 'float32'), logSoftmax(logits)), -1))) as Scalar;
  });
}
