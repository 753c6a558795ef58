import { Tensor } from '@tensorflow/tfjs-core';
import { assertLive, checkNumber, invalidArgument } from '@trainkit/core';

/** @internal Throws unless `value` is a float32 tensor of rank ≥ `minRank`. */
export function checkTensor(argument: string, value: unknown, minRank = 1): Tensor {
  assertLive(value, argument);
  if (!(value instanceof Tensor) || value.dtype !== 'float32' || value.rank < minRank || value.isDisposed) {
    throw invalidArgument(argument, value, `a live float32 tf.Tensor of rank >= ${minRank}`);
  }
  return value;
}

/** @internal Throws unless `value` is undefined or a boolean. */
export function checkBoolean(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(argument, value, 'true or false');
  return value;
}

/** @internal An optional number with bounds, or its default. */
export function optionalNumber(
  argument: string,
  value: unknown,
  fallback: number,
  opts: Parameters<typeof checkNumber>[2] = {},
): number {
  return value === undefined ? fallback : checkNumber(argument, value, opts);
}

/** @internal Throws on option keys the function does not know (a typo would otherwise silently use a default). */
export function checkKeys(argument: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw invalidArgument(`${argument}.${key}`, key, `one of the known options (${known.join(', ')})`);
  }
}
