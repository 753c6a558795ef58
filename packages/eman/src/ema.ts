import { add, mul, scalar, tidy, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, checkNumber, invalidArgument, isVariable } from '@trainkit/core';

/**
 * Moves every target variable towards its source in place: `target ← m·target + (1 − m)·source`.
 *
 * @param target - the averaged variables (a teacher's); written with `assign`
 * @param source - the variables averaged in (a student's), paired with `target` by position; never modified
 * @param momentum - m in [0, 1]: 0 copies the source exactly, 1 leaves the target bit-identical
 * @returns nothing; no tensor is left behind
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a momentum outside [0, 1] or a non-variable entry,
 *   `SHAPE_MISMATCH` when the lists differ in length, or a pair differs in shape or dtype; `DISPOSED` for a disposed
 *   variable. Every pair is checked before the first write, so a failing call changes nothing.
 * @remarks EMAN (Cai et al., CVPR 2021), §3: ξ ← m·ξ + (1 − m)·θ, applied to parameters and, in EMAN, to the BN
 *   running mean and variance alike. Non-float pairs (integer counters) are copied, not averaged (reference code:
 *   `num_batches_tracked`). The product form (not `t + (1 − m)(s − t)`) makes m = 0 and m = 1 exact.
 * @example
 * ```ts
 * emaUpdate(teacherVars, studentVars, 0.999);
 * ```
 */
export function emaUpdate(target: readonly Variable[], source: readonly Variable[], momentum: number): void {
  const m = checkNumber('momentum', momentum, { min: 0, max: 1 });
  checkPairs(target, source);
  tidy(() => {
    const keep = scalar(m);
    const take = scalar(1 - m);
    for (let i = 0; i < target.length; i++) {
      const t = target[i] as Variable;
      const s = source[i] as Variable;
      if (t.dtype === 'float32') t.assign(add(mul(t, keep), mul(s, take)));
      else t.assign(s);
    }
  });
}

/**
 * Checks that two variable lists pair up by position (same length, shapes and dtypes).
 *
 * @throws {@link TrainkitError} as {@link emaUpdate} does
 * @internal
 */
export function checkPairs(target: readonly Variable[], source: readonly Variable[]): void {
  if (!Array.isArray(target)) throw invalidArgument('target', target, 'an array of tf.Variable');
  if (!Array.isArray(source)) throw invalidArgument('source', source, 'an array of tf.Variable');
  if (target.length !== source.length) {
    throw new TrainkitError(
      'SHAPE_MISMATCH',
      `target has ${target.length} variables but source has ${source.length}; they pair by position and must have the same count.`,
      'source',
    );
  }
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    const s = source[i];
    if (!isVariable(t)) throw invalidArgument(`target[${i}]`, t, 'a tf.Variable');
    if (!isVariable(s)) throw invalidArgument(`source[${i}]`, s, 'a tf.Variable');
    assertLive(t, `target[${i}]`);
    assertLive(s, `source[${i}]`);
    const same = t.shape.length === s.shape.length && t.shape.every((d, j) => d === s.shape[j]);
    if (!same || t.dtype !== s.dtype) {
      throw new TrainkitError(
        'SHAPE_MISMATCH',
        `target[${i}] ("${t.name}", ${t.dtype}[${t.shape.join(',')}]) and source[${i}] ("${s.name}", ${s.dtype}[${s.shape.join(',')}]) differ; pairs must have the same shape and dtype.`,
        'source',
      );
    }
  }
}
