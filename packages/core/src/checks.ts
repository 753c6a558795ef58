import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, describeValue, invalidArgument } from './errors';

/** True for a tf.Tensor or tf.Variable (duck-typed, so it works across module copies). */
export function isTensorLike(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Tensor).shape) &&
    typeof (value as Tensor).dtype === 'string' &&
    typeof (value as Tensor).dataSync === 'function'
  );
}

/**
 * Throws `DISPOSED` when `value` is a tensor or variable that was disposed; anything else passes.
 *
 * @param value - the tensor or variable to check
 * @param argument - the argument's name as the user wrote it, e.g. `masks["dense/kernel"]`
 * @throws {@link TrainkitError} `DISPOSED` naming the argument
 */
export function assertLive(value: unknown, argument: string): void {
  if (isTensorLike(value) && value.isDisposed) {
    const name = typeof (value as { name?: unknown }).name === 'string' ? ` ("${(value as unknown as { name: string }).name}")` : '';
    throw new TrainkitError('DISPOSED', `${argument}${name} was disposed; pass a live tensor.`, argument);
  }
}

/** Options of {@link checkTensor}. */
export interface TensorCheck {
  /** Accepted dtypes. @defaultValue any */
  dtypes?: readonly DataType[];
  /** Exact shape. */
  shape?: readonly number[];
  /** Minimum rank. */
  minRank?: number;
}

/**
 * Checks a tensor argument: a live tensor, of an accepted dtype and shape.
 *
 * @param argument - argument name for the error
 * @param value - the value to check
 * @param opts - {@link TensorCheck}
 * @returns the value, typed as a tensor
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` (not a tensor, wrong dtype or rank), `DISPOSED`, `SHAPE_MISMATCH`
 */
export function checkTensor(argument: string, value: unknown, opts: TensorCheck = {}): Tensor {
  if (!isTensorLike(value)) throw invalidArgument(argument, value, 'a tf.Tensor');
  assertLive(value, argument);
  if (opts.dtypes && !opts.dtypes.includes(value.dtype)) {
    throw invalidArgument(argument, `${value.dtype} ${describeValue(value)}`, `a tensor of dtype ${opts.dtypes.join(' or ')}`);
  }
  if (opts.minRank !== undefined && value.rank < opts.minRank) {
    throw invalidArgument(argument, value, `a tensor of rank >= ${opts.minRank}`);
  }
  if (opts.shape && !sameShape(value.shape, opts.shape)) {
    throw new TrainkitError('SHAPE_MISMATCH', `${argument} has shape [${value.shape.join(',')}]; expected [${opts.shape.join(',')}].`, argument);
  }
  return value;
}

/** True when two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The gradient a hook acts on: `grads[name]` when present (a live tensor of `shape`), else `null`.
 *
 * @param grads - the gradient map the hook received
 * @param name - the variable's name
 * @param shape - the variable's shape
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for an entry that is not a tensor, `DISPOSED`, `SHAPE_MISMATCH`
 */
export function gradientOf(grads: unknown, name: string, shape: readonly number[]): Tensor | null {
  if (typeof grads !== 'object' || grads === null) throw invalidArgument('grads', grads, 'a map from variable name to gradient');
  const g = (grads as Record<string, unknown>)[name];
  if (g === undefined || g === null) return null;
  return checkTensor(`grads["${name}"]`, g, { shape });
}

/**
 * An optional boolean option: `undefined` gives `fallback`, anything but a boolean throws.
 *
 * @throws {@link TrainkitError} `INVALID_ARGUMENT`
 */
export function checkBoolean(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(argument, value, 'true or false');
  return value;
}

/**
 * A hook name: a non-empty string without "/" (it prefixes the hook's weights as `hook/<name>/…`).
 *
 * @throws {@link TrainkitError} `INVALID_ARGUMENT`
 */
export function checkHookName(argument: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('/')) {
    throw invalidArgument(argument, value, 'a non-empty string without "/"');
  }
  return value;
}

/**
 * Runs `build`; when it throws, disposes everything it registered with `own` and rethrows. For constructors that
 * allocate several tensors: a failed one leaks nothing.
 *
 * @param build - gets `own(t)`, which records `t` (anything with `dispose()`) and returns it
 * @returns what `build` returns
 */
export function disposeOnThrow<T>(build: (own: <D extends { dispose(): void }>(t: D) => D) => T): T {
  const made: Array<{ dispose(): void }> = [];
  try {
    return build((t) => {
      made.push(t);
      return t;
    });
  } catch (err) {
    for (const t of made.reverse()) {
      try {
        t.dispose();
      } catch {
        // already freed
      }
    }
    throw err;
  }
}
