import { randomNormal, tidy, type Variable } from '@tensorflow/tfjs-core';
import { checkNumber, checkSeed, deriveSeed, invalidArgument, paramsOf, type LayersModelLike, type ParamRef } from '@trainkit/core';
import { kernelTargets } from './internal/targets';

/** The paper's variance gain 2 / (1 − 1/π) ≈ 2.934 (Theorem 3, large fan-in). */
export const MIMIC_INIT_GAIN = 2 / (1 - 1 / Math.PI);

/** Options of {@link mimicInit}. */
export interface MimicInitArgs {
  /**
   * Variance gain: each weight is drawn from N(0, gain / fanIn). 2.8 is what the reference VGG code uses; 2 is He.
   * @defaultValue {@link MIMIC_INIT_GAIN} = 2 / (1 − 1/π) ≈ 2.934
   */
  gain?: number;
  /** Seed (non-zero integer); each kernel gets `deriveSeed(seed, i)`. Unseeded when absent. */
  seed?: number;
}

/**
 * Re-draws kernels with the MimicNorm initialisation, in place: W ~ N(0, gain / n), n = weights per filter
 * (kh·kw·in for a conv, in for a dense kernel).
 *
 * @param params - kernels (tf.Variables / ParamRefs), or a model: then every trainable Conv2D kernel, as in the
 *   reference VGG code (the stem included: initialisation does not follow the centring threshold)
 * @param args - {@link MimicInitArgs}
 * @returns nothing; the variables are updated with `assign`
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad kernels, a gain ≤ 0 or a bad seed
 * @remarks Theorem 3: with weight mean the stable variance is σ_w² = 2n / ((n − 1)(1 − 1/π)) ≈ 2.93/n, a std about
 *   1.21× He's. Centring removes a 1/n share of it, so call `mimicInit` before the first {@link centerWeights}
 *   ({@link mimicNorm} centres when it is created). Biases are left alone (the paper starts them at 0).
 * @example
 * ```ts
 * mimicInit(model, { seed: 1 });
 * ```
 */
export function mimicInit(params: ReadonlyArray<Variable | ParamRef> | LayersModelLike, args: MimicInitArgs = {}): void {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
  const gain = checkNumber('gain', args.gain ?? MIMIC_INIT_GAIN, { minExclusive: 0 });
  const seed = args.seed === undefined ? undefined : checkSeed(args.seed);
  let list: unknown = params;
  if (params && typeof params === 'object' && !Array.isArray(params) && Array.isArray((params as LayersModelLike).layers)) {
    list = paramsOf(params as LayersModelLike, { kinds: ['conv2d'], roles: ['kernel'], trainable: true });
    if ((list as ParamRef[]).length === 0) throw invalidArgument('params', params, 'a model with at least one trainable Conv2D kernel');
  }
  const targets = kernelTargets('params', list);
  tidy(() => {
    targets.forEach((t, i) => {
      const std = Math.sqrt(gain / t.fanIn);
      t.variable.assign(randomNormal(t.variable.shape, 0, std, 'float32', seed === undefined ? undefined : deriveSeed(seed, 'mimicInit', i)));
    });
  });
}

/** Options of {@link residualScaleInit}. */
export interface ResidualScaleInitArgs {
  /** Convs in the residual branch (m): 2 for a basic block, 3 for a bottleneck. @defaultValue 2 */
  branchConvs?: number;
  /**
   * 'code': α_l(0) = 1.2^m / l, what the reference code uses for every reported number; 'paper': α_l(0) = 1/√l, the
   * paper's text.
   * @defaultValue 'code'
   */
  mode?: 'code' | 'paper';
}

/**
 * The initial value of the learnable scalar at the end of residual branch `l` (1-based, counted over the whole net).
 *
 * @param blockIndex - l ≥ 1
 * @param args - {@link ResidualScaleInitArgs}
 * @returns a number
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `blockIndex` < 1, `branchConvs` < 1 or `mode` is unknown
 * @remarks Paper Sec. 4 ("residual scalar"): BN shrinks the l-th branch's variance by ~1/l; the code's 1.2^m folds in
 *   the ~1.2 std gain per conv that the ResNet convs do not get from their (He) init.
 * @example
 * ```ts
 * residualScaleInit(3); // 1.44 / 3
 * ```
 */
export function residualScaleInit(blockIndex: number, args: ResidualScaleInitArgs = {}): number {
  const l = checkNumber('blockIndex', blockIndex, { integer: true, min: 1 });
  const m = checkNumber('branchConvs', args.branchConvs ?? 2, { integer: true, min: 1 });
  const mode = args.mode ?? 'code';
  if (mode === 'code') return 1.2 ** m / l;
  if (mode === 'paper') return 1 / Math.sqrt(l);
  throw invalidArgument('mode', mode, '"code" or "paper"');
}
