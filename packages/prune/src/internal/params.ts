import { engine, greater, where, zerosLike, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import {
  TrainkitError,
  assertLive,
  invalidArgument,
  isTensorLike,
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
    vars.forEach((v) => assertLive(v, argument));
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

/**
 * Checks a map of tensors keyed by variable name (masks, snapshots) before anything is written: a Map of live tensors,
 * each naming one of `vars` (when given) with its shape; `binary`: every value is exactly 0 or 1.
 *
 * @throws {@link TrainkitError} `INVALID_ARGUMENT`, `DISPOSED`, `UNKNOWN_VARIABLE`, `SHAPE_MISMATCH`
 */
export function checkTensorMap(
  argument: string,
  map: unknown,
  vars: ReadonlyMap<string, Tensor> | null,
  opts: { binary?: boolean; what?: string } = {},
): asserts map is Map<string, Tensor> {
  const what = opts.what ?? 'Masks (a Map from variable name to tensor)';
  if (!(map instanceof Map)) throw invalidArgument(argument, map, what);
  for (const [name, t] of map as Map<unknown, unknown>) {
    if (typeof name !== 'string') throw invalidArgument(`${argument} key`, name, 'a variable name (string)');
    const label = `${argument}["${name}"]`;
    if (!isTensorLike(t)) throw invalidArgument(label, t, 'a tf.Tensor');
    assertLive(t, label);
    if (vars) {
      const v = vars.get(name);
      if (!v) throw new TrainkitError('UNKNOWN_VARIABLE', `${argument} has an entry for "${name}", which is not in params.`, argument);
      checkShape(argument, name, t, v.shape);
    }
    if (opts.binary) checkBinary(label, t);
  }
}

/** Throws INVALID_ARGUMENT unless every value of `t` is exactly 0 or 1 (a pruning mask). */
export function checkBinary(label: string, t: Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw invalidArgument(label, t.dtype, 'a mask of dtype float32, int32 or bool holding 0 and 1');
  }
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) {
    const x = d[i] as number;
    if (x !== 0 && x !== 1) throw invalidArgument(label, x, `a mask holding only 0 and 1 (element ${i} is not)`);
  }
}

/** Variables by name. */
export function byName(vars: readonly Variable[]): Map<string, Variable> {
  return new Map(vars.map((v) => [v.name, v]));
}
