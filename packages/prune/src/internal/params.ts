import { engine, greater, where, zerosLike, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import {
  TrainkitError,
  invalidArgument,
  isParamRef,
  isVariable,
  paramsOf,
  toVariables,
  type LayersModelLike,
  type ParamRef,
  type ParamsArg,
} from '@trainkit/core';

/** True when `value` looks like a tf.LayersModel (has a layers array). */
export function isModelLike(value: unknown): value is LayersModelLike {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as LayersModelLike).layers);
}

/**
 * Variables of a {@link ParamsArg}. For a model, `all` selects every variable (trainable or not, as rewinding needs);
 * otherwise the trainable ones.
 */
export function resolveVariables(argument: string, params: ParamsArg, all = false): Variable[] {
  if (all && isModelLike(params)) {
    const vars = paramsOf(params).map((p) => p.variable);
    if (vars.length === 0) throw invalidArgument(argument, params, 'a model with at least one variable');
    return vars;
  }
  return toVariables(argument, params);
}

/** Looks a variable up by name in the tfjs engine (masks are keyed by variable name). */
export function findVariable(name: string, argument: string): Variable {
  const v = engine().registeredVariables[name];
  if (v === undefined || v.isDisposed) {
    throw new TrainkitError('UNKNOWN_VARIABLE', `${argument} names variable "${name}", which is not a live tf.Variable.`, argument);
  }
  return v;
}

/** Throws SHAPE_MISMATCH unless `t` has `shape`. */
export function checkShape(argument: string, name: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `${argument} entry "${name}" has shape [${t.shape.join(',')}], but the variable has shape [${shape.join(',')}].`,
      argument,
    );
  }
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export { isParamRef, isVariable, type ParamRef };

/** `v ⊙ m` with +0 (not −0) where the mask is 0, and kept entries bit-identical. Call inside tidy. */
export function maskedValue(v: Tensor, m: Tensor): Tensor {
  return where(greater(m, 0), v, zerosLike(v));
}
