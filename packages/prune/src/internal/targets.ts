import type { Variable } from '@tensorflow/tfjs-core';
import { invalidArgument, isParamRef, type ParamRef, type ParamsArg } from '@trainkit/core';
import { prunableParams } from '../mask';
import { isModelLike, resolveVariables } from './params';

/** One tensor a mask maker or the gradual hook acts on. */
export interface Target {
  variable: Variable;
  name: string;
  /** The owning layer's name (a bare variable: its name up to the last "/"). */
  layerName: string;
  kind: ParamRef['kind'] | undefined;
}

/** The tensors of a {@link ParamsArg}: a model gives its prunable kernels. */
export function targetsOf(argument: string, params: ParamsArg): Target[] {
  if (isModelLike(params)) {
    const refs = prunableParams(params);
    if (refs.length === 0) throw invalidArgument(argument, params, 'a model with at least one conv or dense kernel');
    return refs.map((r) => ({ variable: r.variable, name: r.name, layerName: r.layerName, kind: r.kind }));
  }
  const vars = resolveVariables(argument, params);
  const refs = params as ReadonlyArray<Variable | ParamRef>;
  return vars.map((v, i) => {
    const r = refs[i];
    const layerName = isParamRef(r) ? r.layerName : v.name.includes('/') ? v.name.slice(0, v.name.lastIndexOf('/')) : v.name;
    return { variable: v, name: v.name, layerName, kind: isParamRef(r) ? r.kind : undefined };
  });
}

/** |w| of a variable on the host, rejecting NaN. */
export function absValues(t: Target): Float64Array {
  const w = t.variable.dataSync();
  const a = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const v = w[i] as number;
    if (Number.isNaN(v)) throw invalidArgument('params', t.name, 'tensors without NaN weights');
    a[i] = Math.abs(v);
  }
  return a;
}

/**
 * Indices of `scores` in pruning order: smallest score first; among equal scores, entries already pruned
 * (`pruned[i]` true) first, then the lower index.
 */
export function pruneOrder(scores: Float64Array, pruned?: Uint8Array): Uint32Array {
  const idx = new Uint32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((i, j) => {
    const d = (scores[i] as number) - (scores[j] as number);
    if (d !== 0) return d;
    const p = (pruned ? (pruned[j] as number) : 0) - (pruned ? (pruned[i] as number) : 0);
    return p !== 0 ? p : i - j;
  });
  return idx;
}

/** Default input-channel axis of a kernel: dense [in, out] → 0; conv [kh, kw, in, out] → 2; otherwise rank − 2 (0 for rank 1). */
export function inputAxis(rank: number): number {
  return rank <= 2 ? 0 : rank - 2;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = (s[i + 1] as number) * (shape[i + 1] as number);
  return s;
}
