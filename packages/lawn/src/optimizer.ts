import * as tf from '@tensorflow/tfjs-core';
import { HookedOptimizer, TrainkitError, invalidArgument, type StepHook } from '@trainkit/core';
import { LawnHook, lawnHook, type FrozenNorm, type LawnArgs, type LawnPhase } from './hook';

/**
 * A HookedOptimizer that runs LAWN (Logit Attenuating Weight Normalization) around any tf.Optimizer.
 * Build it with {@link lawn}. Works with `model.compile({ optimizer })` + `fit` and with `minimize` loops.
 *
 * @remarks arXiv 2108.05839. `getWeights()` covers the step, the inner optimizer's state and LAWN's frozen norms, so a
 * resumed run continues identically; `getConfig()`/`fromConfig` need {@link registerLawnSerializables}.
 */
export class LawnOptimizer extends HookedOptimizer {
  /** @internal */
  static get className(): string {
    return 'LawnOptimizer';
  }

  /**
   * @param inner - the optimizer to wrap (owned from now on)
   * @param hooks - must contain exactly one {@link LawnHook}; other hooks run in the given order
   * @throws {@link TrainkitError} when no LawnHook (or more than one) is given
   */
  constructor(inner: tf.Optimizer, hooks: readonly StepHook[]) {
    super(inner, hooks);
    const lawnHooks = hooks.filter((h) => h instanceof LawnHook);
    if (lawnHooks.length !== 1) {
      throw invalidArgument('hooks', hooks, 'a list with exactly one LawnHook (use lawn(inner, args))');
    }
  }

  /**
   * `tf.Optimizer.minimize`, run inside `tf.tidy` so that an error thrown by a step (e.g. a constrained variable that
   * gets no gradient) frees the gradients instead of leaking them. Same arithmetic as the base method.
   */
  override minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const out = tf.tidy(() => super.minimize(f, returnCost, varList) ?? []);
    return Array.isArray(out) ? null : (out as tf.Scalar);
  }

  /** The LAWN hook. */
  get lawn(): LawnHook {
    return this.hooks.find((h) => h instanceof LawnHook) as LawnHook;
  }

  /** The phase the next step runs in: 'free' for the first `freeSteps` steps, then 'constrained'. */
  get phase(): LawnPhase {
    const h = this.lawn;
    return h.phase === 'constrained' || this.iterations >= h.freeSteps ? 'constrained' : 'free';
  }

  /**
   * The norms frozen at the switch (one per variable, or one per output unit with granularity 'unit').
   *
   * @returns plain numbers; empty until the norms are recorded (after step `freeSteps`, or at the start of step 1
   *   when `freeSteps` is 0)
   */
  frozenNorms(): FrozenNorm[] {
    return this.lawn.frozenNorms();
  }

  /** Freezes the norms now (e.g. at an epoch boundary from a callback); no-op once constrained. */
  beginConstrainedPhase(): void {
    if (this.iterations < 0) throw new TrainkitError('STATE_MISMATCH', 'negative step count.');
    this.lawn.beginConstrainedPhase(this.iterations);
  }
}

/**
 * Wraps `inner` with LAWN: it trains freely for `freeSteps` steps, then freezes the norms of `params` and keeps them
 * fixed (tangent-projected gradients + retraction after every step).
 *
 * @param inner - any tf.Optimizer (sgd, momentum, adam, rmsprop, …); the result owns and disposes it
 * @param args - {@link LawnArgs}
 * @returns a {@link LawnOptimizer}; the caller disposes it
 * @throws {@link TrainkitError} on bad args (see {@link lawnHook})
 * @example
 * ```ts
 * const opt = lawn(tf.train.adam(1e-3), { params: model, freeSteps: 5 * stepsPerEpoch });
 * model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
 * ```
 * @remarks arXiv 2108.05839, "Logit Attenuating Weight Normalization"; algorithm in spec §2.4.
 */
export function lawn(inner: tf.Optimizer, args: LawnArgs): LawnOptimizer {
  if (typeof inner !== 'object' || inner === null || typeof (inner as tf.Optimizer).applyGradients !== 'function') {
    throw invalidArgument('inner', inner, 'a tf.Optimizer instance');
  }
  const hook = lawnHook(args);
  try {
    return new LawnOptimizer(inner, [hook]);
  } catch (err) {
    hook.dispose(); // a failed call leaks nothing
    throw err;
  }
}
