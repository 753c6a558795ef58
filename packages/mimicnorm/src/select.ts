import { checkNumber, invalidArgument, paramsOf, type LayersModelLike, type ParamRef } from '@trainkit/core';

/** Options of {@link mimicNormParams}. */
export interface MimicNormParamsOptions {
  /**
   * A kernel is centred only when each of its filters has MORE than `minFanIn` weights (kh·kw·in for a conv).
   * 50 is the CIFAR reference code's rule (`> 50`): it skips a 3×3 RGB stem (27), a 3×3 grey stem (9) and 1×1 convs
   * with ≤ 50 inputs. 0 gives the ImageNet code's rule (every ordinary conv, the stem included).
   * @defaultValue 50
   */
  minFanIn?: number;
  /**
   * Also centre Dense kernels per output unit (over the inputs). The reference code leaves Linear layers alone; the
   * theory's fully connected setting (paper Fig. 2) centres them.
   * @defaultValue false
   */
  includeDense?: boolean;
  /**
   * Also centre depthwise kernels, one filter per (channel, multiplier) over (kh, kw). The paper skips them (9 weights
   * per 3×3 filter is too few); `minFanIn` still applies.
   * @defaultValue false
   */
  includeDepthwise?: boolean;
}

/**
 * Picks the kernels MimicNorm keeps zero-mean: trainable Conv2D kernels whose filters have more than `minFanIn`
 * weights; depthwise and Dense kernels only when asked.
 *
 * @param model - a tf.LayersModel (nested models are walked)
 * @param options - {@link MimicNormParamsOptions}
 * @returns ParamRefs in layer order (possibly empty); the variables stay owned by the model
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `model` is not a model or an option is out of range
 * @remarks Paper Sec. 4 ("weight mean"); the fan-in threshold is the CIFAR code's `fan_in > 50` (spec §A).
 * @example
 * ```ts
 * const kernels = mimicNormParams(model, { minFanIn: 0 }); // ImageNet rule: every conv
 * ```
 */
export function mimicNormParams(model: LayersModelLike, options: MimicNormParamsOptions = {}): ParamRef[] {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an object');
  const minFanIn = checkNumber('minFanIn', options.minFanIn ?? 50, { integer: true, min: 0 });
  const includeDense = checkBool('includeDense', options.includeDense ?? false);
  const includeDepthwise = checkBool('includeDepthwise', options.includeDepthwise ?? false);
  return paramsOf(model, (p) => {
    if (p.role !== 'kernel' || !p.trainable) return false;
    const shape = p.variable.shape;
    if (p.kind === 'conv2d' && shape.length === 4) return (shape[0] as number) * (shape[1] as number) * (shape[2] as number) > minFanIn;
    if (p.kind === 'dense' && shape.length === 2) return includeDense && (shape[0] as number) > minFanIn;
    if (p.kind === 'depthwiseConv2d' && shape.length === 4) return includeDepthwise && (shape[0] as number) * (shape[1] as number) > minFanIn;
    return false;
  });
}

function checkBool(argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(argument, value, 'true or false');
  return value;
}

/** Resolves a params argument: a model goes through {@link mimicNormParams}; a list is returned as is. */
export function resolveParams(argument: string, params: unknown, select?: MimicNormParamsOptions): unknown {
  if (params && typeof params === 'object' && !Array.isArray(params) && Array.isArray((params as LayersModelLike).layers)) {
    const refs = mimicNormParams(params as LayersModelLike, select);
    if (refs.length === 0) {
      throw invalidArgument(argument, params, `a model with at least one kernel to centre (none qualifies with minFanIn=${select?.minFanIn ?? 50}; lower minFanIn or pass the kernels)`);
    }
    return refs;
  }
  return params;
}
