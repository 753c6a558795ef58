/** Stable error codes: match on `err.code`, never on the message. */
export type TrainkitErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'UNKNOWN_VARIABLE'
  | 'UNSUPPORTED_MODEL'
  | 'BACKEND_UNAVAILABLE'
  | 'BAD_FILE'
  | 'STATE_MISMATCH'
  | 'NOT_SERIALIZABLE'
  | 'DISPOSED';

/**
 * The one error type trainkit throws for bad input or state.
 *
 * @remarks The message names the argument, the value received and what is accepted.
 */
export class TrainkitError extends Error {
  /** Stable machine-readable code. */
  readonly code: TrainkitErrorCode;
  /** The argument (or file, or variable) at fault, when there is one. */
  readonly argument: string | undefined;

  /**
   * @param code - a stable {@link TrainkitErrorCode}
   * @param message - human-readable, names the argument, the value and what is accepted
   * @param argument - the argument at fault
   */
  constructor(code: TrainkitErrorCode, message: string, argument?: string) {
    super(message);
    this.name = 'TrainkitError';
    this.code = code;
    this.argument = argument;
  }
}

/**
 * A short, printable description of any value, for error messages.
 *
 * @param value - anything
 * @returns e.g. `-1`, `"adam"`, `Tensor[3,3]`, `array(4)`
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') {
    const o = value as { shape?: unknown; name?: unknown; constructor?: { name?: string } };
    if (Array.isArray(o.shape)) return `${o.constructor?.name ?? 'Tensor'}[${o.shape.join(',')}]`;
    return o.constructor?.name && o.constructor.name !== 'Object' ? o.constructor.name : 'object';
  }
  return typeof value;
}

/**
 * Builds the standard "bad argument" error.
 *
 * @param argument - the argument's name as the user wrote it, e.g. `freeSteps`
 * @param value - the value received
 * @param accepted - what is accepted, e.g. `an integer >= 0`
 * @returns a {@link TrainkitError} with code `INVALID_ARGUMENT` (the caller throws it)
 * @example
 * ```ts
 * if (!(x >= 0)) throw invalidArgument('freeSteps', x, 'an integer >= 0');
 * ```
 */
export function invalidArgument(argument: string, value: unknown, accepted: string): TrainkitError {
  return new TrainkitError(
    'INVALID_ARGUMENT',
    `${argument} must be ${accepted}; received ${describeValue(value)}.`,
    argument,
  );
}

/**
 * Checks a number argument eagerly.
 *
 * @param argument - argument name for the error
 * @param value - the value to check
 * @param opts - `integer`, and inclusive/exclusive bounds
 * @returns the value, typed as number
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when the value is not a finite number inside the bounds
 */
export function checkNumber(
  argument: string,
  value: unknown,
  opts: { integer?: boolean; min?: number; max?: number; minExclusive?: number; maxExclusive?: number } = {},
): number {
  const parts: string[] = [opts.integer ? 'an integer' : 'a finite number'];
  if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
  if (opts.minExclusive !== undefined) parts.push(`> ${opts.minExclusive}`);
  if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
  if (opts.maxExclusive !== undefined) parts.push(`< ${opts.maxExclusive}`);
  const accepted = parts.join(' ');
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(argument, value, accepted);
  if (opts.integer && !Number.isInteger(value)) throw invalidArgument(argument, value, accepted);
  if (opts.min !== undefined && value < opts.min) throw invalidArgument(argument, value, accepted);
  if (opts.max !== undefined && value > opts.max) throw invalidArgument(argument, value, accepted);
  if (opts.minExclusive !== undefined && value <= opts.minExclusive) throw invalidArgument(argument, value, accepted);
  if (opts.maxExclusive !== undefined && value >= opts.maxExclusive) throw invalidArgument(argument, value, accepted);
  return value;
}
