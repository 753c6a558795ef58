import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkSeed, deriveSeed, rng } from '@trainkit/core';
import { isPairAugment, type Augment, type PairAugment } from './augment';
import { exampleSize, type Split } from './split';

/** One mini-batch. The consumer disposes `x`, `y` (and `xStrong` when present). */
export interface Batch {
  /** Images [size, h, w, c] (the weak view when a {@link PairAugment} is used). */
  x: tf.Tensor4D;
  /** One-hot labels [size, classes]. */
  y: tf.Tensor2D;
  /** Class indices. */
  labels: Int32Array;
  /** Indices of these examples in the split. */
  indices: Int32Array;
  /** Number of examples. */
  size: number;
  /** The strong view, only with a {@link PairAugment}. */
  xStrong?: tf.Tensor4D;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  batchSize: number;
  /** Seed of the shuffle and the augmentation; epoch `e` uses seeds derived from (seed, e). */
  seed: number;
  /** @defaultValue 0 */
  epoch?: number;
  /** @defaultValue true */
  shuffle?: boolean;
  /** Drop a last, smaller batch. @defaultValue false */
  dropLast?: boolean;
  augment?: Augment | PairAugment;
}

/** Number of batches {@link batches} yields. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/**
 * Seeded mini-batches over a split: a fresh permutation per epoch, optional augmentation.
 *
 * @returns a lazy iterable: each batch's tensors are created when it is reached (the consumer disposes them), so
 * breaking out early leaks nothing
 * @throws TrainkitError on a bad batch size or seed
 */
export function* batches(split: Split, opts: BatchOptions): Generator<Batch> {
  const batchSize = checkNumber('batchSize', opts.batchSize, { integer: true, min: 1 });
  const seed = checkSeed(opts.seed);
  const epoch = opts.epoch ?? 0;
  const order =
    opts.shuffle === false ? Int32Array.from({ length: split.n }, (_, i) => i) : rng(deriveSeed(seed, 'shuffle', epoch)).permutation(split.n);
  const size = exampleSize(split);
  const count = batchCount(split.n, batchSize, opts.dropLast);
  const shape = split.shape;
  for (let b = 0; b < count; b++) {
    const idx = order.subarray(b * batchSize, Math.min(split.n, (b + 1) * batchSize));
    const m = idx.length;
    let xs: Float32Array = new Float32Array(m * size);
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const j = idx[i] as number;
      xs.set(split.x.subarray(j * size, (j + 1) * size), i * size);
      labels[i] = split.labels[j] as number;
    }
    let strong: Float32Array | undefined;
    if (opts.augment) {
      const r = rng(deriveSeed(seed, 'augment', epoch, b));
      if (isPairAugment(opts.augment)) {
        const weak = opts.augment.weak(xs, shape, r);
        strong = opts.augment.strong(xs, shape, r);
        xs = weak;
      } else {
        xs = opts.augment(xs, shape, r);
      }
    }
    const x = tf.tensor4d(xs, [m, ...shape]);
    const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), split.classes), 'float32') as tf.Tensor2D);
    const batch: Batch = { x, y, labels, indices: Int32Array.from(idx), size: m };
    if (strong) batch.xStrong = tf.tensor4d(strong, [m, ...shape]);
    yield batch;
  }
}
