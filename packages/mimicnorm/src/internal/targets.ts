import type { Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, invalidArgument, isParamRef, isVariable, type ParamRef } from '@trainkit/core';

/** One kernel to act on: its variable and the axes that make up one output filter. */
export interface KernelTarget {
  readonly variable: Variable;
  /** Axes averaged over for one filter (every axis but the output one). */
  readonly axes: number[];
  /** Weights per filter: the product of `axes`' sizes. */
  readonly fanIn: number;
}

/**
 * The filter axes of a kernel. A depthwise kernel [kh, kw, in, multiplier] has one filter per (in, multiplier) pair,
 * so its axes are [0, 1]; every other kernel (conv [kh, kw, in, out], dense [in, out], conv1d [k, in, out]) has its
 * output units on the last axis.
 */
export function kernelTarget(argument: string, p: Variable | ParamRef): KernelTarget {
  const variable = isParamRef(p) ? p.variable : p;
  if (!isVariable(variable)) throw invalidArgument(argument, p, 'a tf.Variable or a ParamRef');
  assertLive(variable, argument);
  const rank = variable.shape.length;
  if (rank < 2) {
    throw invalidArgument(argument, variable, `a kernel of rank >= 2 with output filters on the last axis (variable "${variable.name}" has rank ${rank})`);
  }
  if (variable.dtype !== 'float32') throw invalidArgument(argument, variable, `a float32 kernel ("${variable.name}" is ${variable.dtype})`);
  const depthwise = isParamRef(p) && p.kind === 'depthwiseConv2d' && rank === 4;
  const axes = depthwise ? [0, 1] : Array.from({ length: rank - 1 }, (_, i) => i);
  const fanIn = axes.reduce((n, a) => n * (variable.shape[a] as number), 1);
  return { variable, axes, fanIn };
}

/** Normalises a list of variables / ParamRefs to targets; rejects non-arrays, empty lists and duplicates. */
export function kernelTargets(argument: string, params: unknown): KernelTarget[] {
  if (!Array.isArray(params)) throw invalidArgument(argument, params, 'an array of tf.Variable or ParamRef, or a tf.LayersModel');
  if (params.length === 0) throw invalidArgument(argument, params, 'a non-empty list of kernels');
  const seen = new Set<string>();
  return (params as Array<Variable | ParamRef>).map((p, i) => {
    const t = kernelTarget(`${argument}[${i}]`, p);
    if (seen.has(t.variable.name)) {
      throw new TrainkitError('INVALID_ARGUMENT', `${argument} lists variable "${t.variable.name}" twice; each kernel may appear once.`, argument);
    }
    seen.add(t.variable.name);
    return t;
  });
}
