import {
  argMax,
  cast,
  div,
  greaterEqual,
  max,
  mean,
  mul,
  oneHot,
  op,
  scalar,
  softmax,
  tidy,
  type Scalar,
  type Tensor,
  type Tensor1D,
} from '@tensorflow/tfjs-core';
import { assertLive, checkNumber, invalidArgument } from '@trainkit/core';
import { crossEntropyPerSample, stopGradient } from './internal/ops';

/** Options of {@link pseudoLabels} and {@link pseudoLabelLoss}. */
export interface PseudoLabelArgs {
  /**
   * τ: a sample counts only when the labeller's top softmax probability is at least this.
   * @defaultValue 0.95 (FixMatch; FixMatch-EMAN on ImageNet uses 0.7)
   */
  threshold?: number;
  /**
   * Temperature T applied to the labeller's logits before the softmax (p = softmax(z / T)).
   * @defaultValue 1
   */
  temperature?: number;
}

/** What {@link pseudoLabels} returns; the caller disposes every tensor. */
export interface PseudoLabels {
  /** argmax of the labeller's probabilities, int32 [n]. */
  labels: Tensor1D;
  /** 1 where the top probability ≥ τ, else 0; float32 [n]. */
  mask: Tensor1D;
  /** The top probability, float32 [n]. */
  confidence: Tensor1D;
}

function checkLogits(argument: string, logits: Tensor): void {
  if (!logits || !Array.isArray((logits as Tensor).shape) || logits.shape.length !== 2) {
    throw invalidArgument(argument, logits, 'a 2-D tensor of logits [batch, classes]');
  }
  assertLive(logits, argument);
  if (logits.dtype !== 'float32') throw invalidArgument(argument, logits.dtype, 'float32 logits');
}

function resolve(args: PseudoLabelArgs): { threshold: number; temperature: number } {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {threshold?, temperature?}');
  return {
    threshold: checkNumber('threshold', args.threshold ?? 0.95, { min: 0, max: 1 }),
    temperature: checkNumber('temperature', args.temperature ?? 1, { minExclusive: 0 }),
  };
}

/**
 * Hard pseudo-labels and their confidence mask from a labeller's logits on the weak view.
 *
 * @param labellerLogits - [n, classes] logits of the teacher (or the student) on the weakly augmented batch
 * @param args - {@link PseudoLabelArgs}
 * @returns new tensors `{labels, mask, confidence}`; the caller disposes them
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for non-2-D logits or τ outside [0, 1]
 * @remarks FixMatch (Sohn et al., 2020) eq. 2 / EMAN §3.3: p = softmax(teacher(A_w(u))), ŷ = argmax p, w = 1[max p ≥ τ].
 * @example
 * ```ts
 * const { labels, mask, confidence } = pseudoLabels(teacher.predict(weak), { threshold: 0.95 });
 * const maskRate = (await tf.mean(mask).data())[0];
 * tf.dispose([labels, mask, confidence]);
 * ```
 */
export function pseudoLabels(labellerLogits: Tensor, args: PseudoLabelArgs = {}): PseudoLabels {
  checkLogits('labellerLogits', labellerLogits);
  const { threshold, temperature } = resolve(args);
  return tidy(() => {
    const p = softmax(temperature === 1 ? labellerLogits : div(labellerLogits, temperature));
    const confidence = max(p, -1) as Tensor1D;
    return {
      labels: argMax(p, -1) as Tensor1D,
      mask: cast(greaterEqual(confidence, scalar(threshold)), 'float32') as Tensor1D,
      confidence,
    };
  });
}

function pseudoLabelLoss_(labellerLogits: Tensor, studentLogits: Tensor, args: PseudoLabelArgs = {}): Scalar {
  checkLogits('labellerLogits', labellerLogits);
  checkLogits('studentLogits', studentLogits);
  if (labellerLogits.shape[0] !== studentLogits.shape[0] || labellerLogits.shape[1] !== studentLogits.shape[1]) {
    throw invalidArgument('studentLogits', studentLogits, `logits of the same shape as labellerLogits [${labellerLogits.shape.join(',')}]`);
  }
  const { labels, mask } = pseudoLabels(stopGradient(labellerLogits), args);
  const classes = studentLogits.shape[1] as number;
  const ce = crossEntropyPerSample(studentLogits, oneHot(labels, classes));
  return mean(mul(mask, ce)) as Scalar;
}

/**
 * FixMatch's unsupervised loss: cross-entropy of the student's strong-view logits against the labeller's confident
 * hard pseudo-labels, averaged over the whole unlabeled batch (masked samples count as 0).
 *
 * @param labellerLogits - [n, classes] logits on the weak view, from the teacher (EMA/EMAN) or from the student
 *   itself (plain FixMatch); no gradient flows into them
 * @param studentLogits - [n, classes] student logits on the strong view of the same samples
 * @param args - {@link PseudoLabelArgs}
 * @returns a new scalar (the caller disposes it; inside `optimizer.minimize` tfjs does)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for non-2-D or mismatched logits, or τ outside [0, 1]
 * @remarks ℓ_u = (1/μB)·Σᵢ 1[max pᵢ ≥ τ]·H(ŷᵢ, student(A_s(uᵢ))) — FixMatch eq. 4; EMAN §3.3 takes pᵢ from the
 *   EMAN teacher instead of the student.
 * @example
 * ```ts
 * const loss = pseudoLabelLoss(teacher.predict(weak), student.apply(strong, { training: true }), { threshold: 0.95 });
 * ```
 */
export const pseudoLabelLoss = /* @__PURE__ */ op({ pseudoLabelLoss_ });
