/**
 * The FixMatch-EMAN defaults of the reference code (amazon-research/exponential-moving-average-normalization, its
 * FixMatch-EMAN training script and README), for runs that follow it rather than FixMatch's own values.
 *
 * - `threshold` τ 0.7 (FixMatch: 0.95), `unlabeledWeight` λ_u 10 (FixMatch: 1), `mu` μ 5 unlabeled images per labeled one
 *   (FixMatch: 7), `momentum` m 0.999 of the EMAN teacher, `weightDecay` 1e-4 (coupled, SGD), `lr` 0.03 with SGD momentum 0.9
 *   (`sgdMomentum`) at a labeled batch of 64.
 *
 * @remarks Pass `threshold` / `unlabeledWeight` to `fixMatchLoss` or `pseudoLabelLoss`, `momentum` to `emaTeacher`; μ,
 *   the weight decay and the learning rate belong to the caller's data loader and optimizer.
 * @example
 * ```ts
 * const teacher = emaTeacher(student, { momentum: fixMatchEmanReference.momentum });
 * ```
 */
export const fixMatchEmanReference = Object.freeze({
  threshold: 0.7,
  unlabeledWeight: 10,
  mu: 5,
  momentum: 0.999,
  weightDecay: 1e-4,
  lr: 0.03,
  sgdMomentum: 0.9,
  labeledBatch: 64,
});
