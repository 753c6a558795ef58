import { add, engine, pad, reshape, slice, sum, zeros, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, isParamRef, isVariable, paramsOf, type LayersModelLike, type ParamRef } from '@trainkit/core';
import { BlockState } from '../assign';
import { blockView, type BlockView } from '../blocks';
import type { LayerPlan } from '../projection';

/**
 * Block sums broadcast back over each complete block; partial edge elements get 0. Pure tensor ops (slice, reshape,
 * sum, add, pad), so it runs on every backend. The broadcast is `sums + 0` rather than `tile`: webgpu runs `tile` of
 * rank ≥ 5 on the host, which reads synchronously and fails in Node. Call inside a tidy.
 */
export function blockSumBroadcast(x: Tensor, view: BlockView): Tensor {
  const [O, I, K] = view.dims;
  const [go, gi, gk] = view.blockShape;
  const [no, ni, nk] = view.grid;
  const x3 = reshape(x, [K, I, O]);
  const region = slice(x3, [0, 0, 0], [nk * gk, ni * gi, no * go]);
  const sums = sum(reshape(region, [nk, gk, ni, gi, no, go]), [1, 3, 5], true);
  const back = reshape(add(sums, zeros([nk, gk, ni, gi, no, go])), [nk * gk, ni * gi, no * go]);
  const padded = pad(back, [
    [0, K - nk * gk],
    [0, I - ni * gi],
    [0, O - no * go],
  ]);
  return reshape(padded, [...view.shape]);
}

/** Per-element masks of a plan: free (kept blocks and edges) = 1; signs (±1 in unified blocks); frozen = s·a_b. */
export function planMasks(plan: LayerPlan): { view: BlockView; free: Float32Array; signs: Float32Array; frozen: Float32Array } {
  const view = blockView(plan.shape, { blockSize: plan.blockShape });
  if (view.numBlocks !== plan.numBlocks || plan.states.length !== plan.numBlocks) {
    throw new TrainkitError('STATE_MISMATCH', `plan "${plan.name}" lists ${plan.states.length} blocks but its geometry has ${view.numBlocks}.`, 'plan');
  }
  const n = view.shape.reduce((a, b) => a * b, 1);
  const free = new Float32Array(n).fill(1);
  const signs = new Float32Array(n);
  const frozen = new Float32Array(n);
  const g = view.blockLength;
  for (let b = 0; b < view.numBlocks; b++) {
    const s = plan.states[b];
    if (s === BlockState.keep) continue;
    for (let j = b * g; j < (b + 1) * g; j++) {
      const idx = view.indices[j]!;
      free[idx] = 0;
      if (s === BlockState.unify) {
        const sign = plan.signs[idx] === -1 ? -1 : 1;
        signs[idx] = sign;
        frozen[idx] = sign * plan.magnitudes[b]!;
      }
    }
  }
  return { view, free, signs, frozen };
}

/** Finds a registered variable by name (the engine's registry), or the one given. */
export function variableByName(name: string, given?: readonly (Variable | ParamRef)[]): Variable {
  if (given) {
    for (const p of given) {
      const v = isParamRef(p) ? p.variable : p;
      if (isVariable(v) && v.name === name) return v;
    }
  } else {
    const v = engine().registeredVariables[name];
    if (v) return v;
  }
  throw new TrainkitError('UNKNOWN_VARIABLE', `plan names variable "${name}", which is ${given ? 'not among params' : 'not a live tf.Variable'}.`, 'plan');
}

/** Every variable of a model (trainable and not), or the list given. */
export function allVariables(argument: string, params: readonly (Variable | ParamRef)[] | LayersModelLike): Variable[] {
  const vars = listVariables(argument, params);
  vars.forEach((v, i) => assertLive(v, `${argument}[${i}]`));
  return vars;
}

function listVariables(argument: string, params: readonly (Variable | ParamRef)[] | LayersModelLike): Variable[] {
  if (Array.isArray(params)) {
    return (params as readonly (Variable | ParamRef)[]).map((p, i) => {
      const v = isParamRef(p) ? p.variable : p;
      if (!isVariable(v)) throw new TrainkitError('INVALID_ARGUMENT', `${argument}[${i}] must be a tf.Variable or a ParamRef.`, argument);
      return v;
    });
  }
  if (params && Array.isArray((params as LayersModelLike).layers)) {
    // model.weights order (trainable, then non-trainable) is what model.setWeights expects
    const weights = (params as { weights?: { read(): Variable }[] }).weights;
    if (Array.isArray(weights) && weights.every((w) => typeof w.read === 'function')) return weights.map((w) => w.read());
    return paramsOf(params as LayersModelLike).map((p) => p.variable);
  }
  throw new TrainkitError('INVALID_ARGUMENT', `${argument} must be a tf.LayersModel or an array of tf.Variable / ParamRef.`, argument);
}
