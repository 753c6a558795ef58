import { mul, serialization, tidy, type Tensor } from '@tensorflow/tfjs-core';
import { initializers, layers } from '@tensorflow/tfjs-layers';
import { checkNumber, invalidArgument } from '@trainkit/core';

/** Arguments of {@link ResidualScale}. */
export interface ResidualScaleArgs {
  /** α(0), the scalar's initial value; see `residualScaleInit(l)`. @defaultValue 1 */
  initValue?: number;
  /** Whether α is learned (the paper learns it, with the same weight decay as every parameter). @defaultValue true */
  trainable?: boolean;
  /** Layer name. */
  name?: string;
}

type LayerVar = ReturnType<layers.Layer['addWeight']>;

/**
 * Multiplies its input by one learnable scalar α: the residual-branch scale of a BN-free MimicNorm ResNet,
 * out = ReLU(α_l · F(x) + shortcut(x)).
 *
 * @remarks Paper Sec. 4 ("residual scalar", SkipInit-like but started at α_l(0) = 1.2^m / l in the code, 1/√l in the
 *   text). The weight is named `alpha`; it is saved with the model. Register with `registerMimicNormSerializables()`
 *   before `tf.loadLayersModel`.
 */
export class ResidualScale extends layers.Layer {
  /** The class name registered with tfjs serialization. */
  static get className(): string {
    return 'MimicNormResidualScale';
  }
  /** α(0). */
  readonly initValue: number;
  private alpha: LayerVar | undefined;

  /**
   * @param args - {@link ResidualScaleArgs}
   * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `initValue` is not finite
   */
  constructor(args: ResidualScaleArgs = {}) {
    if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {initValue?, trainable?, name?}');
    const initValue = checkNumber('initValue', args.initValue ?? 1);
    super({ name: args.name, trainable: args.trainable ?? true });
    this.initValue = initValue;
  }

  override build(): void {
    this.alpha = this.addWeight('alpha', [], 'float32', initializers.constant({ value: this.initValue }), undefined, this.trainable);
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x === undefined || this.alpha === undefined) throw invalidArgument('inputs', inputs, 'one tensor');
      return mul(x, this.alpha.read());
    });
  }

  override computeOutputShape(inputShape: ReturnType<layers.Layer['computeOutputShape']>): ReturnType<layers.Layer['computeOutputShape']> {
    return inputShape;
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), initValue: this.initValue };
  }
}

/**
 * Creates a {@link ResidualScale} layer.
 *
 * @param args - {@link ResidualScaleArgs}
 * @returns a new layer (owned by the model it joins)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a non-finite `initValue`
 * @example
 * ```ts
 * const branch = residualScale({ initValue: residualScaleInit(l) }).apply(conv2Out);
 * ```
 */
export function residualScale(args: ResidualScaleArgs = {}): ResidualScale {
  return new ResidualScale(args);
}
