import { mean, sub, tidy, type Variable } from '@tensorflow/tfjs-core';
import { assertLive, type LayersModelLike, type ParamRef } from '@trainkit/core';
import { kernelTargets, type KernelTarget } from './internal/targets';
import { resolveParams, type MimicNormParamsOptions } from './select';

/** What {@link centerWeights} and the hook accept: kernels, or a model (its {@link mimicNormParams} kernels). */
export type MimicNormParamsArg = ReadonlyArray<Variable | ParamRef> | LayersModelLike;

/**
 * Subtracts from every output filter of each kernel its own mean, in place (a projection; no division by the std).
 *
 * @param params - kernels to centre: tf.Variables / ParamRefs (filters on the last axis; a depthwise ParamRef has one
 *   filter per (channel, multiplier)), or a model, then its {@link mimicNormParams} kernels
 * @param select - selection options, used only when `params` is a model
 * @returns nothing; the variables are updated with `assign` and no tensor is left behind
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for an empty list, a non-variable, a rank < 2 or non-float32
 *   variable, a duplicate, or a model with nothing to centre; `DISPOSED` for a disposed kernel (checked for every
 *   kernel before the first is written)
 * @remarks Paper Sec. 4, "weight mean": W[o] ← W[o] − mean(W[o]) over (kh, kw, in) for each filter o. Applied once
 *   after init and after every optimizer step ({@link mimicNormHook}). Idempotent.
 * @example
 * ```ts
 * centerWeights(model); // every eligible conv filter now has mean 0
 * ```
 */
export function centerWeights(params: MimicNormParamsArg, select?: MimicNormParamsOptions): void {
  centerTargets(kernelTargets('params', resolveParams('params', params, select)));
}

/** @internal */
export function centerTargets(targets: readonly KernelTarget[]): void {
  // Every kernel must be live before the first one is written (a failing step changes nothing).
  targets.forEach((t) => assertLive(t.variable, `params ("${t.variable.name}")`));
  tidy(() => {
    for (const t of targets) t.variable.assign(sub(t.variable, mean(t.variable, t.axes, true)));
  });
}
