import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkSeed, constantSchedule, invalidArgument, isSchedule, linearWarmup, piecewiseSchedule, type Schedule } from '@trainkit/core';
import type { CurvePoint } from './experiment';
import { batchCount, batches, type Batch } from './data/batches';
import type { Augment, PairAugment } from './data/augment';
import type { Split } from './data/split';

/** A loss: a scalar from the model and one batch, called inside `optimizer.minimize` (so inside a tidy). */
export type LossFn = (model: tf.LayersModel, batch: Batch, step: number) => tf.Scalar;

/** Progress sink (the harness passes `ctx.progress`). */
export interface ProgressSink {
  start(total: number, label?: string): void;
  tick(n?: number, metrics?: Record<string, number>): void;
}

/** Options of {@link train}. */
export interface TrainArgs {
  model: tf.LayersModel;
  /** Any tf.Optimizer (e.g. a trainkit HookedOptimizer). Not disposed by `train`. */
  optimizer: tf.Optimizer;
  train: Split;
  /** Evaluated after every epoch when given. */
  test?: Split;
  epochs: number;
  batchSize: number;
  /** Seed of shuffling and augmentation. */
  seed: number;
  /** A Schedule (per step, from 0) or a number; the trainer sets the optimizer's rate before every step. @defaultValue the optimizer's own */
  learningRate?: Schedule | number;
  /** @defaultValue softmax cross-entropy of `model.apply(x, {training: true})` against `y` */
  lossFn?: LossFn;
  /** Called after every step (outside any tidy); may return metrics that are averaged into the epoch's curve point. */
  onStep?: (step: number, batch: Batch, loss: number) => void | Record<string, number> | Promise<void | Record<string, number>>;
  /** Called after every epoch's evaluation; may return metrics added to the curve point. */
  onEpoch?: (epoch: number, metrics: CurvePoint) => void | Record<string, number> | Promise<void | Record<string, number>>;
  augment?: Augment | PairAugment;
  progress?: ProgressSink;
  /** @defaultValue 500 */
  evalBatchSize?: number;
  /** @defaultValue false */
  dropLast?: boolean;
}

/** What {@link train} returns (JSON only). */
export interface TrainResult {
  /** One point per epoch: epoch (1-based), trainLoss, testAcc, testLoss, lr, seconds, plus onStep/onEpoch metrics. */
  curves: CurvePoint[];
  /** The last curve point's metrics plus `peakBytes` (tf.memory high-water mark) and `steps`. */
  final: Record<string, number>;
  /** Median wall time of one training step, ms. */
  stepMs: number;
}

/**
 * Coupled L2 weight decay as torch SGD's `weight_decay`: (wd / 2)·Σ‖θ‖² over every trainable weight, added to `loss`.
 *
 * @param wd - the decay; 0 (or less) gives `undefined` when `loss` is absent, else `loss` unchanged
 * @param loss - @defaultValue {@link defaultLoss}
 */
export function withWeightDecay(wd: number, loss?: LossFn): LossFn | undefined {
  if (!(wd > 0)) return loss;
  const base = loss ?? defaultLoss;
  return (model, batch, step) =>
    tf.tidy(() => tf.add(base(model, batch, step), tf.mul(tf.addN(model.trainableWeights.map((w) => tf.sum(tf.square(w.read())))), wd / 2)) as tf.Scalar);
}

/**
 * A CIFAR reference schedule: linear warm-up over `warmSteps` (from lr / warmSteps), then the rate ×0.1 at each
 * milestone, given as a fraction of `totalSteps` (e.g. 80, 110, 135 of 150 epochs). Milestones that fall inside the
 * warm-up or at the end are dropped.
 */
export function warmupStepSchedule(lr: number, totalSteps: number, warmSteps: number, milestones: readonly number[]): Schedule {
  const warm = Math.max(1, Math.min(totalSteps - 1, warmSteps));
  const bounds = milestones.map((f) => Math.max(1, Math.round(f * totalSteps) - warm)).filter((b, i, xs) => b < totalSteps - warm && (i === 0 || b > (xs[i - 1] as number)));
  const pieces = [lr, ...bounds.map((_, i) => lr * 0.1 ** (i + 1))].map((v) => constantSchedule(v));
  const after = bounds.length ? piecewiseSchedule(pieces, bounds) : constantSchedule(lr);
  return linearWarmup({ steps: warm, from: lr / warm, then: after });
}

/**
 * Mean softmax cross-entropy −mean(Σ y·log softmax(logits)); `tf.losses.softmaxCrossEntropy` trips tfjs' IS_TEST leak check.
 *
 * @returns a new scalar (the caller disposes it, or it is inside a tidy)
 */
export function crossEntropy(labels: tf.Tensor2D, logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** The default {@link LossFn}. */
export const defaultLoss: LossFn = (model, batch) => crossEntropy(batch.y, model.apply(batch.x, { training: true }) as tf.Tensor);

/**
 * Sets an optimizer's learning rate, looking through wrappers that expose `inner` (trainkit's HookedOptimizer).
 *
 * @throws TrainkitError when the optimizer has no learning rate to set
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  let o: unknown = optimizer;
  for (let i = 0; i < 8 && o && typeof o === 'object'; i++) {
    const opt = o as { setLearningRate?: (v: number) => void; learningRate?: number; inner?: unknown };
    if (typeof opt.setLearningRate === 'function') return opt.setLearningRate(lr);
    if (opt.inner != null && opt.inner instanceof tf.Optimizer) {
      o = opt.inner;
      continue;
    }
    if (typeof opt.learningRate === 'number') {
      opt.learningRate = lr;
      return;
    }
    break;
  }
  throw invalidArgument('optimizer', optimizer, 'an optimizer with a learningRate (or wrapping one via `inner`)');
}

/**
 * Accuracy and mean cross-entropy of `model` on `split`, in inference mode (`training: false`).
 *
 * @returns plain numbers; no tensors left behind
 */
/**
 * Disposes an optimizer, including the learning-rate scalar that tfjs' `Momentum.dispose` forgets (tfjs#4647;
 * a HookedOptimizer already frees it for its inner optimizer).
 */
export function disposeOptimizer(opt: tf.Optimizer): void {
  opt.dispose();
  const c = (opt as unknown as { c?: tf.Tensor }).c;
  if (opt.getClassName() === 'Momentum' && c && !c.isDisposed) c.dispose();
}

export async function evaluate(model: tf.LayersModel, split: Split, opts: { batchSize?: number } = {}): Promise<{ acc: number; loss: number }> {
  const bs = opts.batchSize ?? 500;
  let correct = 0;
  let lossSum = 0;
  for (const b of batches(split, { batchSize: bs, seed: 1, shuffle: false })) {
    const [c, l] = tf.tidy(() => {
      const logits = model.apply(b.x, { training: false }) as tf.Tensor2D;
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(b.y, -1)), 'float32'));
      return [hits, tf.mul(crossEntropy(b.y, logits), b.size)];
    });
    const [cv, lv] = await Promise.all([c.data(), l.data()]);
    correct += cv[0] as number;
    lossSum += lv[0] as number;
    tf.dispose([c, l, b.x, b.y, b.xStrong]);
  }
  return { acc: correct / split.n, loss: lossSum / split.n };
}

/**
 * Peak tensor memory of one call (tf.profile's `peakBytes`) and the process RSS after it.
 *
 * @returns bytes; `fn`'s result is disposed by tf.profile's caller rules (return nothing that holds tensors)
 */
export async function measureStepMemory(fn: () => tf.TensorContainer | Promise<tf.TensorContainer> | void): Promise<{ peakBytes: number; rssBytes: number }> {
  const info = await tf.profile(async () => {
    const out = await fn();
    return (out ?? []) as tf.TensorContainer;
  });
  tf.dispose(info.result as tf.TensorContainer);
  return { peakBytes: info.peakBytes, rssBytes: process.memoryUsage().rss };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Trains with a custom loop (`optimizer.minimize` per batch, never `model.fit`), evaluating after every epoch.
 *
 * @remarks Deterministic for a seed on one backend: batches, augmentation and (seeded) initialisers draw from seeded
 * generators. The learning rate, when given, is set before each step from `learningRate.at(step)` (step from 0).
 * @returns curves and final metrics (numbers only); the model and optimizer stay with the caller
 * @throws TrainkitError on bad arguments; a non-finite loss stops training with an error naming the step
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const { model, optimizer } = args;
  if (!(optimizer instanceof tf.Optimizer)) throw invalidArgument('optimizer', optimizer, 'a tf.Optimizer');
  const epochs = checkNumber('epochs', args.epochs, { integer: true, min: 1 });
  const batchSize = checkNumber('batchSize', args.batchSize, { integer: true, min: 1 });
  const seed = checkSeed(args.seed);
  const lr = args.learningRate;
  if (lr !== undefined && typeof lr !== 'number' && !isSchedule(lr)) throw invalidArgument('learningRate', lr, 'a number or a Schedule');
  const lossFn = args.lossFn ?? defaultLoss;
  const perEpoch = batchCount(args.train.n, batchSize, args.dropLast);
  args.progress?.start(perEpoch * epochs, 'train');
  const curves: CurvePoint[] = [];
  const stepTimes: number[] = [];
  let step = 0;
  let peakBytes = tf.memory().numBytes;
  const t0 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    let lossSum = 0;
    let seen = 0;
    const extraSums: Record<string, number> = {};
    let extraCount = 0;
    let currentLr = NaN;
    for (const batch of batches(args.train, { batchSize, seed, epoch, dropLast: args.dropLast, augment: args.augment })) {
      const s = performance.now();
      if (lr !== undefined) {
        currentLr = typeof lr === 'number' ? lr : lr.at(step);
        setLearningRate(optimizer, currentLr);
      }
      let lossValue: number;
      try {
        const loss = optimizer.minimize(() => lossFn(model, batch, step), true) as tf.Scalar;
        peakBytes = Math.max(peakBytes, tf.memory().numBytes);
        lossValue = (await loss.data())[0] as number;
        loss.dispose();
      } finally {
        tf.dispose([batch.x, batch.y, batch.xStrong]);
      }
      stepTimes.push(performance.now() - s);
      if (!Number.isFinite(lossValue)) throw invalidArgument(`loss at step ${step}`, lossValue, 'a finite number (training diverged)');
      lossSum += lossValue * batch.size;
      seen += batch.size;
      const extra = await args.onStep?.(step, batch, lossValue);
      if (extra) {
        for (const [k, v] of Object.entries(extra)) extraSums[k] = (extraSums[k] ?? 0) + v;
        extraCount++;
      }
      step++;
      args.progress?.tick(1, { loss: lossValue, epoch: epoch + 1 });
    }
    const point: CurvePoint = { epoch: epoch + 1, trainLoss: lossSum / Math.max(1, seen) };
    for (const [k, v] of Object.entries(extraSums)) point[k] = v / Math.max(1, extraCount);
    if (Number.isFinite(currentLr)) point['lr'] = currentLr;
    if (args.test) {
      const ev = await evaluate(model, args.test, { batchSize: args.evalBatchSize });
      point['testAcc'] = ev.acc;
      point['testLoss'] = ev.loss;
      args.progress?.tick(0, { testAcc: ev.acc });
    }
    point['seconds'] = (performance.now() - t0) / 1000;
    const more = await args.onEpoch?.(epoch + 1, point);
    if (more) Object.assign(point, more);
    curves.push(point);
  }
  const last = curves[curves.length - 1] as CurvePoint;
  const final: Record<string, number> = { ...last, peakBytes, steps: step };
  delete final['epoch'];
  return { curves, final, stepMs: median(stepTimes) };
}
