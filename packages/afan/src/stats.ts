import { add, div, mean, mul, op, sqrt, square, sub, sum, tidy, type Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument } from '@trainkit/core';
import { checkKeys, checkTensor, optionalNumber } from './internal/checks';

/**
 * Which axes the feature moments are taken over (features are channels-last, `[N, …spatial, C]`):
 * - `'pono'`: over the channels, one (μ, σ) per sample and position (positional normalisation). The reference
 *   code's `mix_feature` (mean/var over dim 1 of NCHW) does this; it is the default.
 * - `'batch'`: over batch and space, one (μ, σ) per channel, as BatchNormalization (the paper's wording).
 * - `'instance'`: over space, one (μ, σ) per sample and channel (rank ≥ 3).
 */
export type StatsAxes = 'pono' | 'batch' | 'instance';

/** Options of {@link featureStatSwap}. */
export interface FeatureStatSwapOptions {
  /**
   * Axes of the moments.
   * @defaultValue 'pono' (reference code)
   */
  axes?: StatsAxes;
  /**
   * Perturbation strength s ∈ [0, 1]: the moments are those of f + s·(f_adv − f), the paper's f_adv^(i) with
   * s = i/k. 1 takes the adversarial features' own moments; 0 gives back (about) the clean features.
   * @defaultValue 1
   */
  strength?: number;
  /**
   * Added to the (unbiased) variance before the square root: σ = sqrt(var + eps).
   * @defaultValue 1e-5 (reference)
   */
  epsilon?: number;
}

const SWAP_KEYS = ['axes', 'strength', 'epsilon'] as const;

/** @internal The reduction axes for `axes` on a tensor of rank `rank`. */
export function statsAxesOf(axes: StatsAxes, rank: number): number[] {
  if (axes === 'pono') return [rank - 1];
  if (axes === 'batch') return Array.from({ length: rank - 1 }, (_, i) => i);
  return Array.from({ length: rank - 2 }, (_, i) => i + 1);
}

/** @internal Checks `axes` against the feature shape (≥ 2 values per moment: the unbiased variance needs them). */
export function checkStatsAxes(argument: string, axes: unknown, shape: readonly number[]): number[] {
  if (axes !== 'pono' && axes !== 'batch' && axes !== 'instance') {
    throw invalidArgument(argument, axes, "'pono', 'batch' or 'instance'");
  }
  const minRank = axes === 'instance' ? 3 : 2;
  if (shape.length < minRank) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `${argument} '${axes}' needs features of rank >= ${minRank}; received shape [${shape}].`,
      argument,
    );
  }
  const ax = statsAxesOf(axes, shape.length);
  const count = ax.reduce((p, a) => p * (shape[a] as number), 1);
  if (count < 2) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `${argument} '${axes}' averages over ${count} value(s) for features of shape [${shape}], and the unbiased ` +
        'variance needs at least 2 (the reference returns NaN here); pick other axes or a larger batch.',
      argument,
    );
  }
  return ax;
}

/** @internal Mean and σ = sqrt(unbiased var + eps) over `ax`, keeping dims. */
export function moments(x: Tensor, ax: number[], eps: number): { mu: Tensor; sigma: Tensor } {
  return tidy(() => {
    const count = ax.reduce((p, a) => p * (x.shape[a] as number), 1);
    const mu = mean(x, ax, true);
    const variance = div(sum(square(sub(x, mu)), ax, true), count - 1);
    return { mu, sigma: sqrt(add(variance, eps)) };
  });
}

function featureStatSwap_(clean: Tensor, adversarial: Tensor, options: FeatureStatSwapOptions = {}): Tensor {
  const c = checkTensor('clean', clean, 2);
  const a = checkTensor('adversarial', adversarial, 2);
  if (c.shape.length !== a.shape.length || c.shape.some((d, i) => d !== a.shape[i])) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `adversarial must have the shape of clean [${c.shape}]; received [${a.shape}].`,
      'adversarial',
    );
  }
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  checkKeys('options', options, SWAP_KEYS);
  const ax = checkStatsAxes('options.axes', options.axes ?? 'pono', c.shape);
  const strength = optionalNumber('options.strength', options.strength, 1, { min: 0, max: 1 });
  const eps = optionalNumber('options.epsilon', options.epsilon, 1e-5, { minExclusive: 0 });
  const source = strength === 1 ? a : add(c, mul(sub(a, c), strength));
  const own = moments(c, ax, eps);
  const target = moments(source, ax, eps);
  return add(mul(div(sub(c, own.mu), own.sigma), target.sigma), target.mu);
}

/**
 * Adversarial feature normalisation (AFN): the clean features normalised with their own moments and re-scaled with
 * the adversarial features' moments, `σ_adv · (f − μ_f) / σ_f + μ_adv`.
 *
 * @param clean - clean features f, float32, channels-last (caller keeps ownership)
 * @param adversarial - adversarial features f_adv of the same shape (e.g. from `adversarialFeatures`)
 * @param options - {@link FeatureStatSwapOptions}: `axes` (default 'pono'), `strength` (default 1), `epsilon` (1e-5)
 * @returns a new tensor (the caller disposes it); on the chosen axes its mean is μ_adv and its unbiased standard
 * deviation is σ_adv·sqrt(var_f / (var_f + eps)) ≈ σ_adv. Gradients flow to both inputs (`afanLoss` passes
 * detached ones, as the reference does).
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` on bad options; `SHAPE_MISMATCH` when the shapes differ or an
 * axis choice leaves fewer than 2 values per moment
 * @remarks A-FAN (Chen et al. 2021), Fig. 2: f_mix = σ_adv·(f − μ_clean)/σ_clean + μ_adv, with σ = sqrt(var_unbiased + 1e-5)
 * as in the reference `mix_feature`; a MoEx-style moment exchange between a sample and its own adversarial copy.
 * @example
 * ```ts
 * const mixed = featureStatSwap(f, fAdv, { axes: 'pono', strength: 1 });
 * ```
 */
export const featureStatSwap = /* @__PURE__ */ op({ featureStatSwap_ });
