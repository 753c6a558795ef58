import { add, moments, mul, rsqrt, scalar, serialization, sub, tidy, type Tensor } from '@tensorflow/tfjs-core';
import { initializers, layers } from '@tensorflow/tfjs-layers';
import { TrainkitError, checkNumber, invalidArgument } from '@trainkit/core';

/** Arguments of {@link LastBatchNorm}. */
export interface LastBatchNormArgs {
  /**
   * Moving-average decay: moving ← momentum · moving + (1 − momentum) · batch. 0.9 is PyTorch's momentum 0.1 (the
   * reference code); tfjs' own BN defaults to 0.99.
   * @defaultValue 0.9
   */
  momentum?: number;
  /** ε in (z − μ) / √(σ² + ε). PyTorch's default; tfjs' BN defaults to 1e-3. @defaultValue 1e-5 */
  epsilon?: number;
  /**
   * Feed the moving variance with the unbiased batch variance (× B/(B−1)), as PyTorch's `BatchNorm1d` does; false
   * feeds the biased one, as tfjs/Keras do. Training-mode outputs always use the biased variance.
   * @defaultValue true
   */
  unbiasedMovingVariance?: boolean;
  /** Layer name. */
  name?: string;
}

type LayerVar = ReturnType<layers.Layer['addWeight']>;

/**
 * BatchNorm without affine parameters, for the logits: z_hat = (z − μ) / √(σ² + ε) per class column.
 * Training uses the batch statistics (and updates the moving ones); inference uses the moving statistics.
 *
 * @remarks Paper Sec. 4 ("last BN"), reference `BatchNorm1d(C, affine=False)`: with no γ/β every class keeps the same
 *   distribution, and the layer tunes the effective learning rate. It has no trainable weights; its moving statistics
 *   (`moving_mean`, `moving_variance`) are non-trainable weights saved with the model. In training a batch of 1 has
 *   zero variance and would map every logit to 0, so it throws (as PyTorch does).
 */
export class LastBatchNorm extends layers.Layer {
  /** The class name registered with tfjs serialization. */
  static get className(): string {
    return 'MimicNormLastBatchNorm';
  }
  readonly momentum: number;
  readonly epsilon: number;
  readonly unbiasedMovingVariance: boolean;
  private movingMean: LayerVar | undefined;
  private movingVariance: LayerVar | undefined;

  /**
   * @param args - {@link LastBatchNormArgs}
   * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `momentum` ∉ [0, 1), `epsilon` ≤ 0, or the flag is not boolean
   */
  constructor(args: LastBatchNormArgs = {}) {
    if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
    const momentum = checkNumber('momentum', args.momentum ?? 0.9, { min: 0, maxExclusive: 1 });
    const epsilon = checkNumber('epsilon', args.epsilon ?? 1e-5, { minExclusive: 0 });
    const unbiased = args.unbiasedMovingVariance ?? true;
    if (typeof unbiased !== 'boolean') throw invalidArgument('unbiasedMovingVariance', unbiased, 'true or false');
    super({ name: args.name });
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.unbiasedMovingVariance = unbiased;
    this.supportsMasking = true;
  }

  override build(inputShape: ReturnType<layers.Layer['computeOutputShape']>): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Array<number | null>;
    const classes = shape[shape.length - 1];
    if (shape.length < 2 || typeof classes !== 'number') {
      throw invalidArgument('inputShape', shape, 'a shape [batch, ..., classes] with a known last dimension');
    }
    this.movingMean = this.addWeight('moving_mean', [classes], 'float32', initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [classes], 'float32', initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], kwargs: { training?: boolean }): Tensor {
    return tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const mm = this.movingMean;
      const mv = this.movingVariance;
      if (x === undefined || mm === undefined || mv === undefined) throw invalidArgument('inputs', inputs, 'one tensor');
      const eps = scalar(this.epsilon);
      if (kwargs['training'] !== true) return mul(sub(x, mm.read()), rsqrt(add(mv.read(), eps)));
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const count = x.shape.slice(0, -1).reduce((n, d) => n * d, 1);
      if (count < 2) {
        throw new TrainkitError('INVALID_ARGUMENT', `LastBatchNorm "${this.name}" got ${count} value per class in training mode; batch statistics need at least 2 (use a batch of 2 or more, or drop the last partial batch).`, 'inputs');
      }
      const { mean, variance } = moments(x, axes);
      const out = mul(sub(x, mean), rsqrt(add(variance, eps)));
      const m = this.momentum;
      const batchVar = this.unbiasedMovingVariance ? mul(variance, count / (count - 1)) : variance;
      mm.write(add(mul(mm.read(), m), mul(mean, 1 - m)));
      mv.write(add(mul(mv.read(), m), mul(batchVar, 1 - m)));
      return out;
    });
  }

  override computeOutputShape(inputShape: ReturnType<layers.Layer['computeOutputShape']>): ReturnType<layers.Layer['computeOutputShape']> {
    return inputShape;
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, unbiasedMovingVariance: this.unbiasedMovingVariance };
  }
}

/**
 * Creates the MimicNorm "last BN": a {@link LastBatchNorm} to put right after the classifier's (linear) Dense layer.
 *
 * @param args - {@link LastBatchNormArgs}
 * @returns a new layer (owned by the model it joins)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad args
 * @example
 * ```ts
 * const logits = lastBatchNorm().apply(tf.layers.dense({ units: 10 }).apply(features));
 * ```
 */
export function lastBatchNorm(args: LastBatchNormArgs = {}): LastBatchNorm {
  return new LastBatchNorm(args);
}
