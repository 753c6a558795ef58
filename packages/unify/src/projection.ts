import { tensor, type Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, assertLive, checkNumber, invalidArgument } from '@trainkit/core';
import { BlockState, assignBlocks } from './assign';
import { blockView, type BlockArgs, type BlockShape, type BlockView } from './blocks';

/** Arguments of {@link unifyProjection}. */
export interface ProjectionArgs extends BlockArgs {
  /**
   * Fraction of complete blocks to zero (`r_p`); `n_p = round(r_p·B)`.
   * @defaultValue 0.5 [RECON: the paper's ratios are unknown]
   */
  pruneRatio?: number;
  /**
   * Fraction of complete blocks to unify (`r_u`); `n_u = min(round(r_u·B), B − n_p)`.
   * @defaultValue 0.4 [RECON]
   */
  unifyRatio?: number;
  /** Name recorded in the plan. @defaultValue the variable's name, else `'kernel'` */
  name?: string;
}

/** The frozen structure of one kernel: which blocks are pruned / unified, their signs and magnitudes. */
export interface LayerPlan {
  /** Variable name (the key of its gradient). */
  readonly name: string;
  /** Kernel shape. */
  readonly shape: readonly number[];
  /** `[g_o, g_i, g_k]`. */
  readonly blockShape: BlockShape;
  /** Complete blocks `B`. */
  readonly numBlocks: number;
  /** One {@link BlockState} per block (block order of {@link BlockView}). */
  readonly states: Uint8Array;
  /** Per block: the shared magnitude `a_b` of a unified block (float32, exact), else 0. */
  readonly magnitudes: Float32Array;
  /** Per kernel element: −1 / +1 inside unified blocks (sign(0) := +1), 0 elsewhere. */
  readonly signs: Int8Array;
  /** Blocks pruned (`n_p`). */
  readonly pruneCount: number;
  /** Blocks unified (`n_u`). */
  readonly unifyCount: number;
  /** `‖X − Π(X)‖²` of the projection that made the plan (float64). */
  readonly cost: number;
}

/** Several kernels' plans; what the hooks, stats and encoder take. */
export interface UnifyPlan {
  readonly layers: readonly LayerPlan[];
}

/** Normalises a plan argument. @internal */
export function planLayers(plan: UnifyPlan | LayerPlan | readonly LayerPlan[], argument = 'plan'): LayerPlan[] {
  let list: readonly unknown[];
  if (Array.isArray(plan)) list = plan;
  else if (plan && Array.isArray((plan as UnifyPlan).layers)) list = (plan as UnifyPlan).layers;
  else if (plan && (plan as LayerPlan).states instanceof Uint8Array) list = [plan];
  else throw invalidArgument(argument, plan, 'a UnifyPlan ({layers}), a LayerPlan or an array of LayerPlans');
  return list.map((p, i) => checkLayerPlan(`${argument}.layers[${i}]`, p));
}

/** Checks every field of a LayerPlan (so hooks and the encoder never index past its arrays). @internal */
export function checkLayerPlan(argument: string, value: unknown): LayerPlan {
  const p = value as LayerPlan;
  if (typeof p !== 'object' || p === null) throw invalidArgument(argument, value, 'a LayerPlan');
  if (typeof p.name !== 'string' || p.name.length === 0) throw invalidArgument(`${argument}.name`, p.name, 'a variable name');
  if (!Array.isArray(p.shape) || !p.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw invalidArgument(`${argument}.shape`, p.shape, 'a kernel shape of positive integers');
  }
  const view = blockView(p.shape, { blockSize: p.blockShape as BlockShape });
  const size = p.shape.reduce((a, b) => a * b, 1);
  if (p.numBlocks !== view.numBlocks) throw invalidArgument(`${argument}.numBlocks`, p.numBlocks, `${view.numBlocks} (the geometry's block count)`);
  if (!(p.states instanceof Uint8Array) || p.states.length !== view.numBlocks || p.states.some((x) => x > 2)) {
    throw invalidArgument(`${argument}.states`, p.states, `a Uint8Array of ${view.numBlocks} block states (0 keep, 1 unify, 2 prune)`);
  }
  if (!(p.magnitudes instanceof Float32Array) || p.magnitudes.length !== view.numBlocks || p.magnitudes.some((x) => !Number.isFinite(x))) {
    throw invalidArgument(`${argument}.magnitudes`, p.magnitudes, `a Float32Array of ${view.numBlocks} finite magnitudes`);
  }
  if (!(p.signs instanceof Int8Array) || p.signs.length !== size) throw invalidArgument(`${argument}.signs`, p.signs, `an Int8Array of ${size} signs`);
  return p;
}

/**
 * Checks `r_p`, `r_u` and returns the exact block counts.
 *
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when a ratio is outside [0, 1] or `r_p + r_u > 1`
 */
export function blockCounts(numBlocks: number, pruneRatio: number, unifyRatio: number): { numPrune: number; numUnify: number } {
  checkRatios(pruneRatio, unifyRatio);
  const numPrune = Math.round(pruneRatio * numBlocks);
  const numUnify = Math.min(Math.round(unifyRatio * numBlocks), numBlocks - numPrune);
  return { numPrune, numUnify };
}

/** @internal */
export function checkRatios(pruneRatio: unknown, unifyRatio: unknown): void {
  checkNumber('pruneRatio', pruneRatio, { min: 0, max: 1 });
  checkNumber('unifyRatio', unifyRatio, { min: 0, max: 1 });
  if ((pruneRatio as number) + (unifyRatio as number) > 1 + 1e-12) {
    throw invalidArgument('pruneRatio + unifyRatio', (pruneRatio as number) + (unifyRatio as number), 'at most 1 (a block is pruned, unified or kept)');
  }
}

/** Per-block costs of a kernel's values. @internal */
export function blockCosts(values: ArrayLike<number>, view: BlockView): { prune: Float64Array; unify: Float64Array; mean: Float64Array } {
  const { numBlocks: B, blockLength: g, indices } = view;
  const prune = new Float64Array(B);
  const unify = new Float64Array(B);
  const mean = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s1 = 0;
    let s2 = 0;
    for (let j = b * g; j < (b + 1) * g; j++) {
      const w = values[indices[j]!]!;
      s1 += Math.abs(w);
      s2 += w * w;
    }
    const a = s1 / g;
    let e = 0;
    for (let j = b * g; j < (b + 1) * g; j++) {
      const d = Math.abs(values[indices[j]!]!) - a;
      e += d * d;
    }
    if (!Number.isFinite(s2) || !Number.isFinite(e)) {
      throw new TrainkitError('INVALID_ARGUMENT', `kernel holds a NaN or infinite weight (block ${b}); it cannot be projected.`, 'kernel');
    }
    prune[b] = s2;
    unify[b] = e;
    mean[b] = a;
  }
  return { prune, unify, mean };
}

/**
 * The exact projection on plain values (float32 in, float32 out). @internal
 */
export function projectValues(
  values: Float32Array,
  shape: readonly number[],
  args: ProjectionArgs & { name: string },
): { weights: Float32Array; plan: LayerPlan } {
  const view = blockView(shape, args);
  const pruneRatio = args.pruneRatio ?? 0.5;
  const unifyRatio = args.unifyRatio ?? 0.4;
  const { numPrune, numUnify } = blockCounts(view.numBlocks, pruneRatio, unifyRatio);
  if (view.numBlocks === 0 && pruneRatio + unifyRatio > 0) {
    throw invalidArgument('blockSize', args.blockSize ?? 4, `a block [${view.blockShape.join(',')}] that fits kernel "${args.name}" of shape [${shape.join(',')}] (no complete block fits; canonical dims [O,I,K] = [${view.dims.join(',')}])`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new TrainkitError('INVALID_ARGUMENT', `kernel "${args.name}" holds a NaN or infinite weight at flat index ${i}; it cannot be projected.`, 'kernel');
    }
  }
  const costs = blockCosts(values, view);
  const { states, cost } = assignBlocks(costs.prune, costs.unify, numPrune, numUnify);
  const out = Float32Array.from(values);
  const magnitudes = new Float32Array(view.numBlocks);
  const signs = new Int8Array(values.length);
  const g = view.blockLength;
  for (let b = 0; b < view.numBlocks; b++) {
    const s = states[b];
    if (s === BlockState.prune) {
      for (let j = b * g; j < (b + 1) * g; j++) out[view.indices[j]!] = 0;
    } else if (s === BlockState.unify) {
      const a = Math.fround(costs.mean[b]!);
      magnitudes[b] = a;
      for (let j = b * g; j < (b + 1) * g; j++) {
        const idx = view.indices[j]!;
        const sign = values[idx]! < 0 ? -1 : 1;
        signs[idx] = sign;
        out[idx] = sign * a;
      }
    }
  }
  return {
    weights: out,
    plan: { name: args.name, shape: [...shape], blockShape: view.blockShape, numBlocks: view.numBlocks, states, magnitudes, signs, pruneCount: numPrune, unifyCount: numUnify, cost },
  };
}

/**
 * The exact Euclidean projection of a kernel onto "exactly `n_p` blocks all zero and `n_u` other blocks unified".
 *
 * @param kernel - a kernel tensor or variable (tfjs layout `[in, out]` or `[kh, kw, in, out]`); not modified
 * @param args - {@link ProjectionArgs}: block geometry, `pruneRatio`, `unifyRatio`
 * @returns `{weights, plan}`: `weights` is a new tensor of the kernel's shape (the caller disposes it); `plan` is plain JS
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for ratios outside [0, 1] or summing above 1, NaN/Inf weights, or
 * non-zero ratios when no complete block fits; `SHAPE_MISMATCH` for a kernel of rank < 2
 * @remarks Spec §2: a unified block keeps its signs and takes the magnitude `a_b = mean|w_b|`, at cost
 * `e_b = ‖w_b‖² − g·a_b²`; zeroing costs `p_b = ‖w_b‖²`; keeping costs 0. The selection is the exact minimum of
 * `Σ_P p_b + Σ_U e_b` over all disjoint `P`, `U` of the required sizes ({@link assignBlocks}), not the spec's greedy
 * prune-first order. Partial edge blocks stay dense. Reads the kernel synchronously (`dataSync`).
 * @example
 * ```ts
 * const { weights, plan } = unifyProjection(kernel, { blockSize: 4, pruneRatio: 0.5, unifyRatio: 0.4 });
 * ```
 */
export function unifyProjection(kernel: Tensor, args: ProjectionArgs = {}): { weights: Tensor; plan: LayerPlan } {
  if (!kernel || !Array.isArray(kernel.shape) || typeof kernel.dataSync !== 'function') {
    throw invalidArgument('kernel', kernel, 'a tf.Tensor or tf.Variable');
  }
  assertLive(kernel, 'kernel');
  if (kernel.dtype !== 'float32') throw invalidArgument('kernel', kernel.dtype, 'a float32 tensor');
  const name = args.name ?? (typeof (kernel as { name?: unknown }).name === 'string' ? (kernel as unknown as { name: string }).name : 'kernel');
  const values = kernel.dataSync() as Float32Array;
  const { weights, plan } = projectValues(values instanceof Float32Array ? values : Float32Array.from(values), kernel.shape, { ...args, name });
  return { weights: tensor(weights, kernel.shape, 'float32'), plan };
}
