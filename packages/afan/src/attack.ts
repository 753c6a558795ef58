import { Tensor, add, clipByValue, grad, mul, randomUniform, sign, sum, tidy, zerosLike } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, checkSeed, invalidArgument } from '@trainkit/core';
import { checkBoolean, checkKeys, checkTensor, optionalNumber } from './internal/checks';
import { callStage, checkStage, detach, type Stage } from './internal/stage';
import { softmaxCrossEntropy, type LossFn } from './loss';

/** Options of {@link adversarialFeatures} (and the attack part of `afanLoss`). */
export interface AttackOptions {
  /**
   * Sign-gradient ascent steps K on the features.
   * @defaultValue 5 (reference `run_perturb.sh`, CIFAR ResNet-56s)
   */
  steps?: number;
  /**
   * Step size α, in feature units.
   * @defaultValue 0.5/255 (reference script; its argparse default is 1.5/255)
   */
  stepSize?: number;
  /**
   * Budget ε: the random start is drawn from U(−ε, ε), and with `clip` every step is clamped to [−ε, ε].
   * With `clip` off (the reference default) and no random start it plays no part; the only bound is |δ| ≤ K·α.
   * @defaultValue 2/255
   */
  epsilon?: number;
  /**
   * Start from δ ~ U(−ε, ε) instead of 0.
   * @defaultValue false
   */
  randomStart?: boolean;
  /**
   * Clamp δ to [−ε, ε] after each step.
   * @defaultValue false (reference)
   */
  clip?: boolean;
  /**
   * Seed of the random start (a non-zero integer). Use a different one per training step, e.g.
   * `deriveSeed(seed, step)` from `@trainkit/core`; omitted, tfjs draws an unseeded start.
   */
  seed?: number;
  /**
   * The loss the attack ascends, `(labels, logits) => scalar`.
   * @defaultValue {@link softmaxCrossEntropy}
   */
  lossFn?: LossFn;
  /**
   * Run `back` in training mode during the attack (batch statistics in BatchNormalization; tfjs-layers then also
   * updates the moving mean/variance once per attack step). `false` = inference mode, nothing is written.
   * @defaultValue true (reference classification and segmentation code: `bnModeDuringAttack = 'train'`)
   */
  training?: boolean;
}

/** The reference code's defaults for CIFAR ResNets (spec "Defaults", classification column). */
export const attackDefaults = Object.freeze({
  steps: 5,
  stepSize: 0.5 / 255,
  epsilon: 2 / 255,
  randomStart: false,
  clip: false,
  training: true,
});

const ATTACK_KEYS = ['steps', 'stepSize', 'epsilon', 'randomStart', 'clip', 'seed', 'lossFn', 'training'] as const;

/** @internal Attack options with defaults filled in and every value checked. */
export interface ResolvedAttack {
  steps: number;
  stepSize: number;
  epsilon: number;
  randomStart: boolean;
  clip: boolean;
  seed: number | undefined;
  lossFn: LossFn;
  training: boolean;
}

/** @internal */
export function resolveAttack(o: AttackOptions, prefix = 'options.'): ResolvedAttack {
  const lossFn = o.lossFn ?? softmaxCrossEntropy;
  if (typeof lossFn !== 'function') throw invalidArgument(`${prefix}lossFn`, lossFn, 'a function (labels, logits) => tf.Scalar');
  return {
    steps: optionalNumber(`${prefix}steps`, o.steps, attackDefaults.steps, { integer: true, min: 0, max: 1000 }),
    stepSize: optionalNumber(`${prefix}stepSize`, o.stepSize, attackDefaults.stepSize, { min: 0 }),
    epsilon: optionalNumber(`${prefix}epsilon`, o.epsilon, attackDefaults.epsilon, { min: 0 }),
    randomStart: checkBoolean(`${prefix}randomStart`, o.randomStart, attackDefaults.randomStart),
    clip: checkBoolean(`${prefix}clip`, o.clip, attackDefaults.clip),
    seed: o.seed === undefined ? undefined : checkSeed(o.seed, `${prefix}seed`),
    lossFn,
    training: checkBoolean(`${prefix}training`, o.training, attackDefaults.training),
  };
}

/**
 * @internal The perturbation δ_K for detached features `f` (a leaf: nothing upstream of it is differentiated).
 * The result is itself detached, so an enclosing `optimizer.minimize` never back-propagates into the attack.
 */
export function attackDelta(back: Stage, f: Tensor, labels: Tensor, a: ResolvedAttack): Tensor {
  return tidy(() => {
    let delta: Tensor = a.randomStart ? randomUniform(f.shape, -a.epsilon, a.epsilon, 'float32', a.seed) : zerosLike(f);
    if (a.clip) delta = clipByValue(delta, -a.epsilon, a.epsilon);
    // A bad `back` output is rethrown outside tf.grad: an exception inside it leaves tensors behind (tfjs engine).
    let problem: unknown;
    const lossOfDelta = (d: Tensor): Tensor => {
      try {
        return a.lossFn(labels, callStage('back', back, add(f, d), a.training));
      } catch (err) {
        if (!(err instanceof TrainkitError)) throw err;
        problem = err;
        return sum(mul(d, 0));
      }
    };
    const gradOfDelta = grad(lossOfDelta);
    for (let t = 0; t < a.steps; t++) {
      const prev = delta;
      delta = tidy(() => {
        const g = gradOfDelta(prev);
        if (problem !== undefined) throw problem;
        const next = add(prev, mul(sign(g), a.stepSize));
        return a.clip ? clipByValue(next, -a.epsilon, a.epsilon) : next;
      });
      prev.dispose();
    }
    return detach(delta);
  });
}

/**
 * Adversarial features: K sign-gradient ascent steps on an intermediate feature map, through the rest of the
 * network (`back`), never through the layers that produced it. Model weights are never updated (see `training`
 * for BatchNormalization's moving statistics).
 *
 * @param back - the network after the split: features → logits (a function or a `tf.LayersModel`)
 * @param features - clean features f = front(x), float32 of any rank (caller keeps ownership)
 * @param labels - what `lossFn` takes as labels (default: one-hot `[batch, classes]` or class ids `[batch]`)
 * @param options - {@link AttackOptions}; defaults are the reference code's for CIFAR ResNets
 * @returns f_adv = f + δ_K, a new tensor the caller disposes; it carries no gradient back to `features` or weights
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` on a bad option or input; `UNSUPPORTED_MODEL` when `back` does
 * not return one tensor
 * @remarks A-FAN (Chen et al. 2021, Fig. 2; reference `attack_algo.PGD`): δ_0 = 0 (or U(−ε, ε)),
 * δ_t = δ_{t−1} + α·sign(∇_δ L(g(f + δ_{t−1}), y)), optionally clamped to [−ε, ε]; f_adv = f + δ_K.
 * Cost: K forward + backward passes of `back` with respect to the features only.
 * @example
 * ```ts
 * const fAdv = tf.tidy(() => adversarialFeatures(back, front.apply(x), y, { steps: 1, stepSize: 0.05 }));
 * ```
 */
export function adversarialFeatures(back: Stage, features: Tensor, labels: Tensor, options: AttackOptions = {}): Tensor {
  const b = checkStage('back', back);
  const f = checkTensor('features', features);
  assertLive(labels, 'labels');
  if (!(labels instanceof Tensor) || labels.isDisposed) throw invalidArgument('labels', labels, 'a live tf.Tensor');
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an options object');
  checkKeys('options', options, ATTACK_KEYS);
  const a = resolveAttack(options);
  return tidy(() => {
    const fd = detach(f);
    return detach(add(fd, attackDelta(b, fd, labels, a)));
  });
}
