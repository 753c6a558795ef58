import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkTensor, invalidArgument } from '@trainkit/core';

/** How LAWN measures a tensor: one Frobenius norm per tensor, or one L2 norm per output unit (last axis). */
export type Granularity = 'layer' | 'unit';

/** Sum of squares per tensor ([]) or per output unit ([units]: reduced over every axis but the last). */
function sumSquares(x: tf.Tensor, y: tf.Tensor, granularity: Granularity): tf.Tensor {
  const prod = tf.mul(x, y);
  if (granularity === 'layer') return tf.sum(prod);
  if (prod.rank <= 1) return prod; // a vector's units are its elements; a scalar is one unit
  const axes = Array.from({ length: prod.rank - 1 }, (_, i) => i);
  return tf.sum(prod, axes);
}

function checkGranularity(granularity: unknown): asserts granularity is Granularity {
  if (granularity !== 'layer' && granularity !== 'unit') throw invalidArgument('granularity', granularity, "'layer' or 'unit'");
}

function checkLive(argument: string, t: unknown): void {
  checkTensor(argument, t, { dtypes: ['float32'] });
}

function checkEps(eps: unknown): void {
  checkNumber('eps', eps, { minExclusive: 0 });
}

function weightNorms_(w: tf.Tensor, granularity: Granularity = 'layer'): tf.Tensor {
  checkLive('w', w);
  checkGranularity(granularity);
  return tf.sqrt(sumSquares(w, w, granularity));
}

/**
 * The norms LAWN freezes: ‖W‖_F for `'layer'`, or the L2 norm of each output unit for `'unit'`.
 *
 * @param w - any float tensor (not modified)
 * @param granularity - `'layer'`, or `'unit'`: one norm per index of the last axis, reduced over all other axes
 *   (Dense `[in, out]` → axis 0; Conv2D `[kh, kw, in, out]` → axes 0, 1, 2; a vector → its absolute values)
 * @defaultValue granularity `'layer'`
 * @returns a scalar (`'layer'`) or a `[units]` tensor (`'unit'`); the caller disposes it
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for another granularity or a non-float32 tensor; `DISPOSED` for a
 *   disposed tensor (the same checks apply to {@link projectToTangent} and {@link retractToNorm}, plus eps > 0)
 * @remarks Plain float32 sum of squares: it overflows to Infinity once Σw² exceeds ~3.4e38 (|w| around 1e19); LAWN
 *   refuses to freeze such a norm. The c_k of the LAWN paper (arXiv 2108.05839), recorded at the end of the free phase.
 */
export const weightNorms = /* @__PURE__ */ tf.op({ weightNorms_ });

function projectToTangent_(
  g: tf.Tensor,
  w: tf.Tensor,
  granularity: Granularity = 'layer',
  frozen?: tf.Tensor,
  eps = 1e-12,
): tf.Tensor {
  checkLive('g', g);
  checkLive('w', w);
  if (frozen !== undefined) checkLive('frozen', frozen);
  checkGranularity(granularity);
  checkEps(eps);
  // g − (⟨g, W⟩ / ‖W‖²) W, per tensor or per unit; afterwards ⟨g, W⟩ = 0.
  const dot = sumSquares(g, w, granularity);
  const sq = sumSquares(w, w, granularity);
  let coef = tf.div(dot, tf.maximum(sq, eps * eps));
  if (frozen !== undefined) coef = tf.where(tf.greaterEqual(frozen, eps), coef, tf.zerosLike(coef));
  return tf.sub(g, tf.mul(coef, w));
}

/**
 * Removes the radial part of a gradient: g − (⟨g, W⟩ / ‖W‖²) W (per tensor, or per output unit).
 *
 * @param g - the gradient of `w` (not modified)
 * @param w - the weight (not modified)
 * @param granularity - see {@link weightNorms}
 * @param frozen - optional frozen norms; units whose frozen norm is below `eps` are left unprojected
 * @param eps - guard: ‖W‖² is floored at eps²
 * @defaultValue granularity `'layer'`, eps 1e-12
 * @returns the tangent gradient (same shape as g); the caller disposes it
 * @remarks Step (b) of LAWN's constrained phase (spec §2.4); the gradient of f(c·W/‖W‖) is tangent in the same way.
 */
export const projectToTangent = /* @__PURE__ */ tf.op({ projectToTangent_ });

function retractToNorm_(w: tf.Tensor, frozen: tf.Tensor, granularity: Granularity = 'layer', eps = 1e-12): tf.Tensor {
  checkLive('w', w);
  checkLive('frozen', frozen);
  checkGranularity(granularity);
  checkEps(eps);
  const norm = tf.sqrt(sumSquares(w, w, granularity));
  const scale = tf.where(tf.greaterEqual(frozen, eps), tf.div(frozen, tf.maximum(norm, eps)), tf.onesLike(norm));
  return tf.mul(w, scale);
}

/**
 * Rescales `w` back onto the sphere of its frozen norm: W ← c · W / max(‖W‖, eps) (per tensor, or per output unit).
 *
 * @param w - the weight (not modified)
 * @param frozen - the frozen norms (a scalar for `'layer'`, `[units]` for `'unit'`); a norm below `eps` leaves
 *   that tensor or unit unchanged (a zero-initialised head is not forced anywhere, and no NaN appears)
 * @param granularity - see {@link weightNorms}
 * @param eps - guard against division by zero
 * @defaultValue granularity `'layer'`, eps 1e-12
 * @returns the retracted weight; the caller disposes it
 * @remarks Step (d) of LAWN's constrained phase (spec §2.4). Idempotent up to float32 rounding.
 */
export const retractToNorm = /* @__PURE__ */ tf.op({ retractToNorm_ });
