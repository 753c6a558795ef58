import { Tensor, add, mul, tidy, type Scalar } from '@tensorflow/tfjs-core';
import { TrainkitError, checkNumber, invalidArgument, assertLive } from '@trainkit/core';
import { attackDefaults, attackDelta, resolveAttack, type AttackOptions } from './attack';
import { checkBoolean, checkKeys, checkTensor, optionalNumber } from './internal/checks';
import { callStage, checkStage, detach, type Stage } from './internal/stage';
import { checkStatsAxes, featureStatSwap, type StatsAxes } from './stats';

/** Arguments of {@link afanLoss}: the split network, one batch, and the A-FAN options. */
export interface AfanLossArgs extends AttackOptions {
  /** The layers before the split: x → features f (a function or a `tf.LayersModel`). */
  front: Stage;
  /** The layers after the split: features → logits. */
  back: Stage;
  /** The input batch (caller keeps ownership). */
  x: Tensor;
  /** The labels, as `lossFn` takes them (default: one-hot `[batch, classes]` or class ids `[batch]`). */
  y: Tensor;
  /**
   * Weight of the clean loss.
   * @defaultValue 0.5 (reference classification: L = 0.5·CE_clean + 0.5·CE_adv)
   */
  cleanWeight?: number;
  /**
   * Weight λ of each adversarial term (one number for all, or one per strength).
   * @defaultValue 0.5
   */
  advWeight?: number | readonly number[];
  /**
   * Number k of perturbation strengths: terms at f + (i/k)·δ for i = 1..k.
   * @defaultValue 1 (reference classification; segmentation used 2, detection 4)
   */
  numStrengths?: number;
  /**
   * Adversarial feature normalisation (AFN) on/off: `true` feeds `featureStatSwap(f, f_adv^(i))` instead of
   * f_adv^(i) to every term, an array is a per-strength mask (the reference's `mix_layer`, e.g. `[false, false, true, true]`).
   * @defaultValue false (the reference classification code supports augmentation only)
   */
  useNormalization?: boolean | readonly boolean[];
  /**
   * Axes of the moments in AFN.
   * @defaultValue 'pono' (reference `mix_feature`)
   */
  statsAxes?: StatsAxes;
  /**
   * Added to the variances in AFN.
   * @defaultValue 1e-5
   */
  afnEpsilon?: number;
}

/** Every default of {@link afanLoss} (the reference code's for CIFAR ResNets). */
export const afanDefaults = Object.freeze({
  ...attackDefaults,
  cleanWeight: 0.5,
  advWeight: 0.5,
  numStrengths: 1,
  useNormalization: false,
  statsAxes: 'pono' as StatsAxes,
  afnEpsilon: 1e-5,
});

const LOSS_KEYS = [
  'front', 'back', 'x', 'y', 'steps', 'stepSize', 'epsilon', 'randomStart', 'clip', 'seed', 'lossFn', 'training',
  'cleanWeight', 'advWeight', 'numStrengths', 'useNormalization', 'statsAxes', 'afnEpsilon',
] as const;

function perStrength<T>(argument: string, value: T | readonly T[], k: number, check: (name: string, v: unknown) => T): T[] {
  if (Array.isArray(value)) {
    if (value.length !== k) throw invalidArgument(argument, value, `one value or an array of numStrengths (${k}) values`);
    return value.map((v, i) => check(`${argument}[${i}]`, v));
  }
  const one = check(argument, value);
  return Array.from({ length: k }, () => one);
}

/**
 * The A-FAN training loss for one batch, to call inside `optimizer.minimize(() => afanLoss({...}))`.
 *
 * @param args - {@link AfanLossArgs}: `front`, `back`, `x`, `y` and the options (defaults: {@link afanDefaults})
 * @returns a new scalar (the caller, usually `minimize`, disposes it). Gradients reach `front` only through the
 * clean term and `back` through every term: the features given to the attack and to the adversarial terms are
 * detached, as in the reference.
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` on a bad option; `SHAPE_MISMATCH` when AFN axes do not fit the
 * features; `UNSUPPORTED_MODEL` when a stage does not return one tensor
 * @remarks A-FAN (Chen et al. 2021, Fig. 2): with f = front(x) and δ from {@link adversarialFeatures},
 * L = w_c·L(back(f), y) + Σ_{i=1..k} λ_i·L(back(f̃_i), y), where f̃_i = f + (i/k)·δ, or with AFN
 * f̃_i = σ(f̃_i)·(f − μ(f))/σ(f) + μ(f̃_i). Every forward runs with `training` (train mode by default, so
 * BatchNormalization uses batch statistics). The clean features come from the clean forward pass itself (one `front`
 * pass per step; the reference runs `front` twice, so its front BatchNormalization moving statistics move twice).
 * Cost per step: 1 front forward + backward, K + 1 + k back forwards, K back backwards to the features, k + 1 back
 * backwards to the weights.
 * @example
 * ```ts
 * optimizer.minimize(() => afanLoss({ front, back, x, y, steps: 1, stepSize: 0.05, useNormalization: true }));
 * ```
 */
export function afanLoss(args: AfanLossArgs): Scalar {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object { front, back, x, y, ... }');
  checkKeys('args', args, LOSS_KEYS);
  const front = checkStage('front', args.front);
  const back = checkStage('back', args.back);
  const x = args.x;
  assertLive(x, 'x');
  assertLive(args.y, 'y');
  if (!(x instanceof Tensor) || x.isDisposed) throw invalidArgument('x', x, 'a live tf.Tensor');
  const y = args.y;
  if (!(y instanceof Tensor) || y.isDisposed) throw invalidArgument('y', y, 'a live tf.Tensor');
  const attack = resolveAttack(args, '');
  const k = optionalNumber('numStrengths', args.numStrengths, afanDefaults.numStrengths, { integer: true, min: 1, max: 64 });
  const cleanWeight = optionalNumber('cleanWeight', args.cleanWeight, afanDefaults.cleanWeight, { min: 0 });
  const weights = perStrength('advWeight', args.advWeight ?? afanDefaults.advWeight, k, (n, v) => checkNumber(n, v, { min: 0 }));
  const useNorm = perStrength('useNormalization', args.useNormalization ?? afanDefaults.useNormalization, k, (n, v) =>
    checkBoolean(n, v, false),
  );
  const statsAxes = args.statsAxes ?? afanDefaults.statsAxes;
  const afnEpsilon = optionalNumber('afnEpsilon', args.afnEpsilon, afanDefaults.afnEpsilon, { minExclusive: 0 });
  if (cleanWeight === 0 && weights.every((w) => w === 0)) {
    throw invalidArgument('cleanWeight', cleanWeight, 'positive when every advWeight is 0 (the loss would be 0)');
  }
  if (!['pono', 'batch', 'instance'].includes(statsAxes)) {
    throw invalidArgument('statsAxes', statsAxes, "'pono', 'batch' or 'instance'");
  }

  return tidy(() => {
    const f = checkTensor('front(x)', callStage('front', front, x, attack.training), 1);
    if (useNorm.some(Boolean)) checkStatsAxes('statsAxes', statsAxes, f.shape);
    let total = mul(attack.lossFn(y, callStage('back', back, f, attack.training)), cleanWeight);
    if (weights.every((w) => w === 0)) return total as Scalar; // no adversarial term: no attack either
    const fd = detach(f);
    const delta = attackDelta(back, fd, y, attack);
    for (let i = 1; i <= k; i++) {
      const w = weights[i - 1] as number;
      if (w === 0) continue;
      let fi = i === k ? add(fd, delta) : add(fd, mul(delta, i / k));
      if (useNorm[i - 1]) fi = featureStatSwap(fd, fi, { axes: statsAxes, epsilon: afnEpsilon });
      total = add(total, mul(attack.lossFn(y, callStage('back', back, detach(fi), attack.training)), w));
    }
    if (total.rank !== 0) {
      throw new TrainkitError('SHAPE_MISMATCH', `lossFn must return a scalar; received shape [${total.shape}].`, 'lossFn');
    }
    return total as Scalar;
  });
}
