/**
 * An extra arm for the `prune` experiment: gradual magnitude pruning during training (Zhu & Gupta 2017, TF-MOT's
 * `prune_low_magnitude` with `PolynomialDecay`), with the same recipe, data order and epochs as the other sparse arms.
 * Self-contained so the experiment can call it as one more arm: the caller positions the model (θ0 to prune from
 * scratch, θT to prune a trained network) and passes the kernels the other arms prune.
 */
import * as tf from '@tensorflow/tfjs';
import type { ParamRef, Schedule } from '@trainkit/core';
import { disposeMasks, exportSparse, gradualPruning, polynomialDecay, sparsityOf, type GradualPruningHook, type PruningScheduleConfig } from '@trainkit/prune';
import type { Split } from '../data';
import { hostReady } from '../readback';
import { evaluate, train, type ProgressSink } from '../train';

/** Inputs of {@link gradualPruneArm}. */
export interface GradualPruneArmArgs {
  model: tf.LayersModel;
  /** The tensors to prune (the experiment's `prunableParams(model, { excludeFirstConv: true })`). */
  kernels: ParamRef[];
  /** Final sparsity of every kernel (layerwise, like the one-shot arms). */
  sparsity: number;
  /** Initial learning rate of SGD momentum 0.9 (the experiment's `lr`). */
  lr: number;
  learningRate: Schedule | number;
  train: Split;
  test: Split;
  epochs: number;
  batchSize: number;
  /** Data-order seed: the same as the other arms'. */
  seed: number;
  progress?: ProgressSink;
  /** Fraction of the run at which pruning starts. @defaultValue 0.1 */
  beginFraction?: number;
  /** Fraction of the run at which the final sparsity is reached (Zhu & Gupta prune over most of training, then fine-tune). @defaultValue 0.6 */
  endFraction?: number;
  /** Mask updates per epoch. @defaultValue 4 */
  updatesPerEpoch?: number;
}

/** What {@link gradualPruneArm} measures (JSON only). */
export interface GradualPruneArmResult {
  /** Test accuracy after training. */
  acc: number;
  /** Measured sparsity of the pruned kernels (exact zeros). */
  sparsity: number;
  /** Bytes of `exportSparse(model, masks)`: the real size of the sparse file. */
  bytes: number;
  /** The schedule used (for the run record). */
  schedule: PruningScheduleConfig;
}

/**
 * Trains `model` for `epochs` while pruning `kernels` from 0 to `sparsity` along a cubic schedule, then evaluates it.
 *
 * @returns {@link GradualPruneArmResult}; the model is left trained and pruned (the caller restores it for the next arm)
 */
export async function gradualPruneArm(a: GradualPruneArmArgs): Promise<GradualPruneArmResult> {
  const stepsPerEpoch = Math.ceil(a.train.n / a.batchSize);
  const total = stepsPerEpoch * a.epochs;
  const beginStep = Math.min(total - 1, Math.round((a.beginFraction ?? 0.1) * total));
  const endStep = Math.max(beginStep, Math.min(total - 1, Math.round((a.endFraction ?? 0.6) * total)));
  const frequency = Math.max(1, Math.round(stepsPerEpoch / (a.updatesPerEpoch ?? 4)));
  // Land exactly on endStep: TF-MOT only updates where (t − begin) % frequency = 0.
  const end = beginStep + Math.floor((endStep - beginStep) / frequency) * frequency;
  const schedule = polynomialDecay({ initialSparsity: 0, finalSparsity: a.sparsity, beginStep, endStep: end, power: 3, frequency });
  const optimizer = gradualPruning(tf.train.momentum(a.lr, 0.9), a.kernels, schedule);
  try {
    await optimizer.hook<GradualPruningHook>('gradual-prune')!.settle(); // webgpu in Node: an update at step 0 needs the weights on the host
    await train({ model: a.model, optimizer, train: a.train, epochs: a.epochs, batchSize: a.batchSize, seed: a.seed, learningRate: a.learningRate, ...(a.progress ? { progress: a.progress } : {}) });
    const masks = optimizer.hook<GradualPruningHook>('gradual-prune')!.currentMasks();
    try {
      const acc = (await evaluate(a.model, a.test)).acc;
      await hostReady(a.model, masks); // sparsityOf and exportSparse read synchronously (webgpu in Node)
      return {
        acc,
        sparsity: sparsityOf(a.kernels).sparsity,
        bytes: exportSparse(a.model, masks).byteLength,
        schedule: schedule.getConfig(),
      };
    } finally {
      disposeMasks(masks);
    }
  } finally {
    optimizer.dispose();
  }
}
