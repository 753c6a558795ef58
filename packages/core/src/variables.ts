import type { Variable } from '@tensorflow/tfjs-core';
import { assertLive } from './checks';
import { TrainkitError, invalidArgument } from './errors';
import { isParamRef, paramsOf, type LayersModelLike, type ParamRef } from './params';

/** What method args accept as "the parameters to act on". */
export type ParamsArg = readonly Variable[] | readonly ParamRef[] | LayersModelLike;

/**
 * Normalises a {@link ParamsArg} to variables.
 *
 * @param argument - argument name for errors, e.g. `params`
 * @param params - variables, ParamRefs, or a model (then: all its trainable variables)
 * @returns the variables (owned by the caller / model)
 * @throws {@link TrainkitError} on an empty list, a non-variable, or a duplicate; `DISPOSED` for a disposed variable
 */
export function toVariables(argument: string, params: ParamsArg): Variable[] {
  let vars: Variable[];
  if (Array.isArray(params)) {
    vars = (params as ReadonlyArray<Variable | ParamRef>).map((p, i) => {
      const v = isParamRef(p) ? p.variable : p;
      if (!isVariable(v)) throw invalidArgument(`${argument}[${i}]`, p, 'a tf.Variable or a ParamRef');
      assertLive(v, `${argument}[${i}]`);
      return v;
    });
  } else if (params && Array.isArray((params as LayersModelLike).layers)) {
    vars = paramsOf(params as LayersModelLike, { trainable: true }).map((p) => p.variable);
    vars.forEach((v) => assertLive(v, argument));
  } else {
    throw invalidArgument(argument, params, 'an array of tf.Variable or ParamRef, or a tf.LayersModel');
  }
  if (vars.length === 0) throw invalidArgument(argument, params, 'a non-empty list of variables');
  const seen = new Set<string>();
  for (const v of vars) {
    if (seen.has(v.name)) {
      throw new TrainkitError('INVALID_ARGUMENT', `${argument} lists variable "${v.name}" twice; each variable may appear once.`, argument);
    }
    seen.add(v.name);
  }
  return vars;
}

/** True for a tf.Variable (duck-typed, so it works across module copies). */
export function isVariable(value: unknown): value is Variable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Variable).assign === 'function' &&
    typeof (value as Variable).name === 'string' &&
    Array.isArray((value as Variable).shape)
  );
}
