import { checkNumber, checkSeed, invalidArgument, rng } from '@trainkit/core';

/**
 * A dataset split held in memory: images as floats in [0, 1], NHWC, row-major.
 *
 * @remarks Plain typed arrays, no tensors: nothing to dispose. {@link batches} turns it into tensors.
 */
export interface Split {
  /** `n * h * w * c` floats in [0, 1]. */
  x: Float32Array;
  /** `n` class indices in [0, classes). */
  labels: Uint8Array;
  /** Number of examples. */
  n: number;
  /** Shape of one example: [height, width, channels]. */
  shape: [number, number, number];
  /** Number of classes. */
  classes: number;
}

/** Elements of one example. */
export function exampleSize(split: Pick<Split, 'shape'>): number {
  return split.shape[0] * split.shape[1] * split.shape[2];
}

/**
 * Copies the examples at `indices` (in that order) into a new split.
 *
 * @param split - the source (not modified)
 * @param indices - example indices in [0, n)
 * @returns a new {@link Split}
 * @throws TrainkitError when an index is out of range
 */
export function take(split: Split, indices: ArrayLike<number>): Split {
  const size = exampleSize(split);
  const x = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i] as number;
    if (!(j >= 0 && j < split.n && Number.isInteger(j))) throw invalidArgument(`indices[${i}]`, j, `an integer in [0, ${split.n})`);
    x.set(split.x.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = split.labels[j] as number;
  }
  return { x, labels, n: indices.length, shape: [...split.shape], classes: split.classes };
}

/** Indices of each class, in order of appearance. */
export function indicesByClass(labels: ArrayLike<number>, classes: number): number[][] {
  const out: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i] as number]?.push(i);
  return out;
}

/**
 * Picks a seeded, class-balanced subset of `count` example indices from `labels` (sorted ascending).
 *
 * @remarks Each class gets floor(count/classes) examples, the first `count mod classes` classes one more;
 * a class with too few examples gives all it has and the rest are drawn from the other classes.
 * @returns indices into `labels`; all of them when `count >= labels.length`
 */
export function balancedIndices(labels: ArrayLike<number>, classes: number, count: number, seed: number): number[] {
  checkNumber('count', count, { integer: true, min: 0 });
  if (count >= labels.length) return Array.from({ length: labels.length }, (_, i) => i);
  const r = rng(checkSeed(seed));
  const byClass = indicesByClass(labels, classes).map((ix) => r.shuffle(ix));
  const chosen: number[] = [];
  const want = byClass.map((_, c) => Math.floor(count / classes) + (c < count % classes ? 1 : 0));
  const taken = byClass.map((ix, c) => Math.min(ix.length, want[c] as number));
  let missing = count - taken.reduce((a, b) => a + b, 0);
  while (missing > 0) {
    let progressed = false;
    for (let c = 0; c < classes && missing > 0; c++) {
      if ((taken[c] as number) < (byClass[c] as number[]).length) {
        taken[c] = (taken[c] as number) + 1;
        missing--;
        progressed = true;
      }
    }
    if (!progressed) break;
  }
  byClass.forEach((ix, c) => chosen.push(...ix.slice(0, taken[c])));
  return chosen.sort((a, b) => a - b);
}

/**
 * A seeded, class-balanced subset of `count` examples (all of them when `count >= n`).
 *
 * @returns a new {@link Split}
 */
export function balancedSubset(split: Split, count: number, seed: number): Split {
  if (count >= split.n) return split;
  return take(split, balancedIndices(split.labels, split.classes, count, seed));
}

function stratified(split: Split, perClassCount: (classSize: number) => number, seed: number): { first: number[]; rest: number[] } {
  const r = rng(checkSeed(seed));
  const first: number[] = [];
  const rest: number[] = [];
  for (const ix of indicesByClass(split.labels, split.classes)) {
    r.shuffle(ix);
    const k = Math.min(ix.length, perClassCount(ix.length));
    first.push(...ix.slice(0, k));
    rest.push(...ix.slice(k));
  }
  first.sort((a, b) => a - b);
  rest.sort((a, b) => a - b);
  return { first, rest };
}

/**
 * Seeded, stratified train/validation split: each class gives round(valFraction · its size) examples to `val`.
 *
 * @param args.valFraction - in (0, 1)
 * @param args.seed - non-zero integer
 * @returns `{ train, val }`, disjoint, together all of `split`
 * @throws TrainkitError on a bad fraction or seed
 */
export function trainValSplit(split: Split, args: { valFraction: number; seed: number }): { train: Split; val: Split } {
  const f = checkNumber('valFraction', args.valFraction, { minExclusive: 0, maxExclusive: 1 });
  const { first, rest } = stratified(split, (m) => Math.round(f * m), args.seed);
  return { train: take(split, rest), val: take(split, first) };
}

/**
 * Seeded, class-balanced labeled/unlabeled split for semi-supervised runs.
 *
 * @param args.fraction - share of each class that keeps its label, in (0, 1]; or
 * @param args.perClass - labeled examples per class (integer >= 1)
 * @param args.seed - non-zero integer
 * @returns `{ labeled, unlabeled }`, disjoint, together all of `split`. `unlabeled.labels` still holds the true
 * labels (for measuring pseudo-label accuracy); a training loop must not read them.
 * @throws TrainkitError when neither or both of `fraction`/`perClass` are given, or on bad values
 */
export function splitLabeled(
  split: Split,
  args: { fraction?: number; perClass?: number; seed: number },
): { labeled: Split; unlabeled: Split } {
  if ((args.fraction === undefined) === (args.perClass === undefined)) {
    throw invalidArgument('fraction | perClass', args, 'exactly one of `fraction` or `perClass`');
  }
  const count =
    args.fraction !== undefined
      ? ((f: number) => (m: number) => Math.max(1, Math.round(f * m)))(checkNumber('fraction', args.fraction, { minExclusive: 0, max: 1 }))
      : ((k: number) => () => k)(checkNumber('perClass', args.perClass, { integer: true, min: 1 }));
  const { first, rest } = stratified(split, count, args.seed);
  return { labeled: take(split, first), unlabeled: take(split, rest) };
}

/** Counts of each class. */
export function classCounts(split: Pick<Split, 'labels' | 'classes'>): number[] {
  const out = new Array<number>(split.classes).fill(0);
  for (const l of split.labels) out[l] = (out[l] as number) + 1;
  return out;
}
