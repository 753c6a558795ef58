import { tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, checkNumber, checkSeed, deriveSeed, invalidArgument, rng, type ParamsArg } from '@trainkit/core';
import type { Masks } from './mask';
import { absValues, inputAxis, pruneOrder, stridesOf, targetsOf, type Target } from './internal/targets';

/** Arguments of {@link nmMasks}. */
export interface NmMaskArgs {
  /** Weights kept in each group (1 ≤ n ≤ m). */
  n: number;
  /** Group size: m consecutive weights along `axis`. */
  m: number;
  /**
   * The axis the groups run along; negative counts from the end.
   * @defaultValue the input-channel axis: 0 for a dense kernel [in, out], 2 for a conv kernel [kh, kw, in, out]
   */
  axis?: number;
}

function resolveAxis(argument: string, axis: number | undefined, rank: number, fallback: number): number {
  if (axis === undefined) return fallback;
  checkNumber(argument, axis, { integer: true, min: -rank, max: rank - 1 });
  return axis < 0 ? axis + rank : axis;
}

function toMask(t: Target, keep: Uint8Array): [string, ReturnType<typeof tensor>] {
  return [t.name, tensor(Float32Array.from(keep), t.variable.shape, 'float32')];
}

/** Checks everything first, then builds every mask: a failing call creates no tensor. */
function build(targets: Target[], keepOf: (t: Target) => Uint8Array): Masks {
  const keeps = targets.map((t) => keepOf(t));
  return new Map(targets.map((t, i) => toMask(t, keeps[i] as Uint8Array)));
}

/**
 * N:M structured masks: in every group of m consecutive weights along `axis`, exactly the n largest |w| are kept
 * (2:4 is what sparse tensor cores and TF-MOT's `sparsity_m_by_n` use).
 *
 * @param params - variables, ParamRefs, or a model (its conv / dense kernels)
 * @param args - {@link NmMaskArgs}
 * @returns new masks (the caller owns them: {@link disposeMasks}); sparsity is exactly 1 − n/m per tensor
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for n > m, n < 1, a bad axis, or an axis length not divisible by m
 * @remarks Ties: the lower index is pruned first, as in {@link magnitudeMasks}. Pass `nm` to
 *   {@link gradualPruningHook} to re-derive the groups from the current weights at every update step.
 * @example `maskHook(nmMasks(model, { n: 2, m: 4 }))`
 */
export function nmMasks(params: ParamsArg, args: NmMaskArgs): Masks {
  const targets = targetsOf('params', params);
  checkNm(args, targets);
  return build(targets, (t) => nmKeep(t, args));
}

/** @internal Validates N:M args against the tensors. */
export function checkNm(args: NmMaskArgs, targets: Target[]): void {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {n, m, axis?}');
  const m = checkNumber('m', args.m, { integer: true, min: 1 });
  const n = checkNumber('n', args.n, { integer: true, min: 1 });
  if (n > m) throw invalidArgument('n', n, `an integer <= m (${m})`);
  for (const t of targets) {
    const rank = t.variable.shape.length;
    const axis = resolveAxis('axis', args.axis, rank, inputAxis(rank));
    const len = t.variable.shape[axis] as number;
    if (len % m !== 0) {
      throw new TrainkitError('INVALID_ARGUMENT', `m must divide the length (${len}) of axis ${axis} of "${t.name}" [${t.variable.shape.join(',')}]; received m = ${m}.`, 'm');
    }
  }
}

/** @internal Keep-flags of one tensor under N:M. */
export function nmKeep(t: Target, args: NmMaskArgs): Uint8Array {
  const shape = t.variable.shape;
  const axis = resolveAxis('axis', args.axis, shape.length, inputAxis(shape.length));
  const a = absValues(t);
  const keep = new Uint8Array(a.length).fill(1);
  const len = shape[axis] as number;
  const stride = stridesOf(shape)[axis] as number;
  const outer = a.length / (len * stride);
  const group = new Float64Array(args.m);
  const idx = new Array<number>(args.m);
  for (let o = 0; o < outer; o++) {
    for (let inner = 0; inner < stride; inner++) {
      for (let g = 0; g < len; g += args.m) {
        for (let k = 0; k < args.m; k++) {
          idx[k] = o * len * stride + (g + k) * stride + inner;
          group[k] = a[idx[k] as number] as number;
        }
        const order = pruneOrder(group);
        for (let c = 0; c < args.m - args.n; c++) keep[idx[order[c] as number] as number] = 0;
      }
    }
  }
  return keep;
}

/**
 * Block-sparse masks: the tensor is tiled into blocks of `blockShape`, each block scored by its mean |w| (or max), and
 * the round(sparsity · blocks) lowest-scoring blocks are pruned whole (TF-MOT `block_size` / `block_pooling_type`).
 *
 * @param params - variables, ParamRefs, or a model (its conv / dense kernels)
 * @param args.blockShape - block size per axis; a shorter list applies to the trailing axes (e.g. [4, 4] on a conv
 *   kernel [kh, kw, in, out] tiles in × out at each spatial tap)
 * @param args.sparsity - fraction of blocks pruned, in [0, 1)
 * @param args.pooling - block score
 * @defaultValue pooling 'avg'
 * @returns new masks the caller owns
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a block that does not divide the shape, a longer block than the
 *   rank, or a sparsity outside [0, 1)
 * @example `blockMasks(model, { blockShape: [4, 4], sparsity: 0.5 })`
 */
export function blockMasks(params: ParamsArg, args: { blockShape: readonly number[]; sparsity: number; pooling?: 'avg' | 'max' }): Masks {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {blockShape, sparsity, pooling?}');
  const sparsity = checkNumber('sparsity', args.sparsity, { min: 0, maxExclusive: 1 });
  const pooling = args.pooling ?? 'avg';
  if (pooling !== 'avg' && pooling !== 'max') throw invalidArgument('pooling', pooling, '"avg" or "max"');
  if (!Array.isArray(args.blockShape) || args.blockShape.length === 0) throw invalidArgument('blockShape', args.blockShape, 'a non-empty array of integers >= 1');
  args.blockShape.forEach((b, i) => checkNumber(`blockShape[${i}]`, b, { integer: true, min: 1 }));
  const targets = targetsOf('params', params);
  const blocksOf = (t: Target): number[] => {
    const shape = t.variable.shape;
    if (args.blockShape.length > shape.length) {
      throw invalidArgument('blockShape', args.blockShape, `at most ${shape.length} entries for "${t.name}" [${shape.join(',')}]`);
    }
    const block = [...new Array<number>(shape.length - args.blockShape.length).fill(1), ...args.blockShape];
    shape.forEach((d, i) => {
      if (d % (block[i] as number) !== 0) {
        throw new TrainkitError('INVALID_ARGUMENT', `blockShape [${args.blockShape.join(',')}] must divide the shape [${shape.join(',')}] of "${t.name}" (axis ${i}: ${d} is not a multiple of ${block[i]}).`, 'blockShape');
      }
    });
    return block;
  };
  const blocks = targets.map(blocksOf);
  return build(targets, (t) => {
    const shape = t.variable.shape;
    const block = blocks[targets.indexOf(t)] as number[];
    const grid = shape.map((d, i) => d / (block[i] as number));
    const gridStrides = stridesOf(grid);
    const strides = stridesOf(shape);
    const nBlocks = grid.reduce((x, y) => x * y, 1);
    const a = absValues(t);
    const blockOf = new Uint32Array(a.length);
    const score = new Float64Array(nBlocks);
    for (let i = 0; i < a.length; i++) {
      let b = 0;
      for (let d = 0; d < shape.length; d++) {
        const c = Math.floor(i / (strides[d] as number)) % (shape[d] as number);
        b += Math.floor(c / (block[d] as number)) * (gridStrides[d] as number);
      }
      blockOf[i] = b;
      const v = a[i] as number;
      score[b] = pooling === 'max' ? Math.max(score[b] as number, v) : (score[b] as number) + v;
    }
    const order = pruneOrder(score); // avg: the sum ranks the same, every block has the same size
    const prunedBlock = new Uint8Array(nBlocks);
    const z = Math.round(sparsity * nBlocks);
    for (let c = 0; c < z; c++) prunedBlock[order[c] as number] = 1;
    const keep = new Uint8Array(a.length);
    for (let i = 0; i < a.length; i++) keep[i] = prunedBlock[blockOf[i] as number] ? 0 : 1;
    return keep;
  });
}

/**
 * Channel (L_n structured) masks: whole output filters with the smallest L1 or L2 norm are pruned, round(sparsity · C)
 * of the C channels of each tensor (torch `ln_structured`).
 *
 * @param params - variables, ParamRefs, or a model (its conv / dense kernels)
 * @param args.sparsity - fraction of channels pruned, in [0, 1)
 * @param args.norm - 1 or 2
 * @param args.axis - the channel axis
 * @defaultValue norm 2; axis: the last (output) axis, the channel axis 2 of a depthwise kernel
 * @returns new masks the caller owns
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a sparsity outside [0, 1), a norm other than 1 or 2, a bad axis
 * @remarks Prune the output layer's units only if you mean to drop classes: pass the hidden kernels as `params`.
 * @example `channelMasks(prunableParams(model, { excludeOutput: true }), { sparsity: 0.25, norm: 1 })`
 */
export function channelMasks(params: ParamsArg, args: { sparsity: number; norm?: 1 | 2; axis?: number }): Masks {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {sparsity, norm?, axis?}');
  const sparsity = checkNumber('sparsity', args.sparsity, { min: 0, maxExclusive: 1 });
  const norm = args.norm ?? 2;
  if (norm !== 1 && norm !== 2) throw invalidArgument('norm', norm, '1 or 2');
  const targets = targetsOf('params', params);
  const axes = targets.map((t) => {
    const rank = t.variable.shape.length;
    return resolveAxis('axis', args.axis, rank, t.kind === 'depthwiseConv2d' && rank === 4 ? 2 : rank - 1);
  });
  return build(targets, (t) => {
    const shape = t.variable.shape;
    const axis = axes[targets.indexOf(t)] as number;
    const c = shape[axis] as number;
    const stride = stridesOf(shape)[axis] as number;
    const a = absValues(t);
    const score = new Float64Array(c);
    const channel = (i: number): number => Math.floor(i / stride) % c;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      score[channel(i)] = (score[channel(i)] as number) + (norm === 1 ? v : v * v);
    }
    const order = pruneOrder(score);
    const pruned = new Uint8Array(c);
    const z = Math.round(sparsity * c);
    for (let k = 0; k < z; k++) pruned[order[k] as number] = 1;
    const keep = new Uint8Array(a.length);
    for (let i = 0; i < a.length; i++) keep[i] = pruned[channel(i)] ? 0 : 1;
    return keep;
  });
}

/**
 * Random unstructured masks: exactly round(sparsity · N) weights of each tensor pruned, chosen uniformly with a seed
 * (torch `random_unstructured`; the random-pruning baseline).
 *
 * @param params - variables, ParamRefs, or a model (its conv / dense kernels)
 * @param args.sparsity - fraction pruned per tensor, in [0, 1)
 * @param args.seed - a non-zero integer; tensor i uses `deriveSeed(seed, 'randomMasks', i)`
 * @returns new masks the caller owns
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a sparsity outside [0, 1) or seed 0
 * @example `randomMasks(model, { sparsity: 0.8, seed: 1 })`
 */
export function randomMasks(params: ParamsArg, args: { sparsity: number; seed: number }): Masks {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {sparsity, seed}');
  const sparsity = checkNumber('sparsity', args.sparsity, { min: 0, maxExclusive: 1 });
  const seed = checkSeed(args.seed);
  const targets = targetsOf('params', params);
  return build(targets, (t) => {
    const size = t.variable.size;
    const perm = rng(deriveSeed(seed, 'randomMasks', targets.indexOf(t))).permutation(size);
    const keep = new Uint8Array(size).fill(1);
    const z = Math.round(sparsity * size);
    for (let k = 0; k < z; k++) keep[perm[k] as number] = 0;
    return keep;
  });
}
