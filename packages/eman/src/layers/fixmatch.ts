import { concat, mean, mul, scalar, slice, tidy, add, type Scalar, type Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { checkNumber, checkTensor, invalidArgument } from '@trainkit/core';
import { crossEntropyPerSample } from '../internal/ops';
import { pseudoLabelLoss, type PseudoLabelArgs } from '../pseudo-label';
import { EmaTeacher } from './teacher';

/** Arguments of {@link fixMatchLoss}. */
export interface FixMatchLossArgs extends PseudoLabelArgs {
  /** The model being trained (called with `training: true`). */
  student: LayersModel;
  /**
   * Who makes the pseudo-labels: `'student'` (FixMatch: detached student logits on the weak view, forwarded in one
   * batch with the labeled and strong images) or an {@link EmaTeacher} (EMAN / EMA teacher on the weak view; the
   * student then sees only labeled + strong images, as in FixMatch-EMAN).
   */
  labeller: 'student' | EmaTeacher;
  /** Labeled images x_l. */
  labeledX: Tensor;
  /** Their one-hot labels y. */
  labeledY: Tensor;
  /** Weak views A_w(u) of the unlabeled images. */
  weak: Tensor;
  /** Strong views A_s(u) of the same unlabeled images, in the same order. */
  strong: Tensor;
  /**
   * λ_u, the weight of the unlabeled loss.
   * @defaultValue 1 (FixMatch; FixMatch-EMAN on ImageNet uses 10)
   */
  unlabeledWeight?: number;
}

/**
 * The whole FixMatch objective for one step, to call inside `optimizer.minimize`.
 *
 * @param args - {@link FixMatchLossArgs}
 * @returns a new scalar L = CE(student(x_l), y) + λ_u·ℓ_u (the caller, or `minimize`, disposes it)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad arguments
 * @remarks EMAN §3.3 / spec: with the student as labeller the student's BN batch is cat(x_l, A_w(u), A_s(u)); with a
 *   teacher it is cat(x_l, A_s(u)) and p = softmax(teacher(A_w(u))). ℓ_u is {@link pseudoLabelLoss}.
 * @example
 * ```ts
 * opt.minimize(() => fixMatchLoss({ student, labeller: teacher, labeledX, labeledY, weak, strong }));
 * teacher.update();
 * ```
 */
export function fixMatchLoss(args: FixMatchLossArgs): Scalar {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object');
  const { student, labeller, labeledX, labeledY, weak, strong } = args;
  const lambda = checkNumber('unlabeledWeight', args.unlabeledWeight ?? 1, { min: 0 });
  if (labeller !== 'student' && !(labeller instanceof EmaTeacher)) throw invalidArgument('labeller', labeller, "'student' or an EmaTeacher");
  if (!student || typeof (student as LayersModel).apply !== 'function') throw invalidArgument('student', student, 'a tf.LayersModel');
  checkTensor('labeledX', labeledX, { minRank: 1 });
  checkTensor('labeledY', labeledY, { minRank: 2 });
  checkTensor('weak', weak, { minRank: 1 });
  checkTensor('strong', strong, { minRank: 1 });
  if (labeledY.shape[0] !== labeledX.shape[0]) throw invalidArgument('labeledY', labeledY, `one label row per labeled sample (${labeledX.shape[0]})`);
  if (!weak || !strong || weak.shape[0] !== strong.shape[0]) throw invalidArgument('strong', strong, 'a batch with as many samples as weak');
  const nl = labeledX.shape[0] as number;
  const nu = weak.shape[0] as number;
  return tidy(() => {
    const forward = (x: Tensor): Tensor => student.apply(x, { training: true }) as Tensor;
    let logitsL: Tensor;
    let logitsS: Tensor;
    let logitsW: Tensor;
    if (labeller === 'student') {
      const all = forward(concat([labeledX, weak, strong], 0));
      const c = all.shape[1] as number;
      logitsL = slice(all, [0, 0], [nl, c]);
      logitsW = slice(all, [nl, 0], [nu, c]);
      logitsS = slice(all, [nl + nu, 0], [nu, c]);
    } else {
      logitsW = labeller.predict(weak);
      const all = forward(concat([labeledX, strong], 0));
      const c = all.shape[1] as number;
      logitsL = slice(all, [0, 0], [nl, c]);
      logitsS = slice(all, [nl, 0], [nu, c]);
    }
    const supervised = mean(crossEntropyPerSample(logitsL, labeledY));
    const unsupervised = pseudoLabelLoss(logitsW, logitsS, { threshold: args.threshold, temperature: args.temperature });
    return add(supervised, mul(unsupervised, scalar(lambda))) as Scalar;
  });
}
