import { tensor, tidy, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import {
  TrainkitError,
  assertLive,
  checkNumber,
  invalidArgument,
  isParamRef,
  paramsOf,
  type LayersModelLike,
  type ParamRef,
  type ParamsArg,
} from '@trainkit/core';
import { byName, checkTensorMap, isModelLike, maskedValue, resolveVariables, sizeOf } from './internal/params';

/**
 * Pruning masks: variable name → a float32 tensor of 0/1 with the variable's shape (1 = kept, 0 = pruned).
 * Whoever created a Masks owns its tensors; free them with {@link disposeMasks}.
 */
export type Masks = Map<string, Tensor>;

/** Arguments of {@link magnitudeMasks}. Give exactly one of `sparsity` and `rate`. */
export interface MagnitudeMaskArgs {
  /** Target fraction of zeros in [0, 1) of each tensor (`layer`) or of all tensors together (`global`), counting `previous`. */
  sparsity?: number;
  /** Fraction in [0, 1) of the still-unpruned weights to prune now (one IMP round); the alternative to `sparsity`. */
  rate?: number;
  /**
   * `layer`: every tensor gets exactly round(s·N_l) zeros (Paper 1's uniform per-layer rate).
   * `global`: one ranking over all tensors, round(s·N) zeros in total (LTH / open_lth `sparse_global`).
   * @defaultValue 'layer'
   */
  scope?: 'layer' | 'global';
  /** Masks of an earlier round: weights pruned there stay pruned, and ranking happens among the kept ones only. */
  previous?: Masks;
  /** Variable names or layer names to leave unpruned (no mask entry unless `previous` had one, which is copied). */
  exclude?: readonly string[];
  /**
   * In `layer` scope, never prune the last weight of a tensor (round(s·N_l) is capped at N_l − 1).
   * @defaultValue true
   */
  keepAtLeastOne?: boolean;
  /** Receives warnings (a tensor pruned entirely by `global` scope). @defaultValue console.warn */
  onWarning?: (message: string) => void;
}

/**
 * The parameters magnitude pruning acts on by default: conv / depthwise-conv / dense kernels (never biases or
 * BatchNorm), as open_lth's `prunable_layer_names`.
 *
 * @param model - a tf.LayersModel
 * @param opts - `excludeFirstConv` (Paper 1 never prunes the first conv layer), `excludeOutput` (the last dense kernel)
 * @defaultValue excludeFirstConv false, excludeOutput false
 * @returns ParamRefs in layer order; the variables stay owned by the model
 * @throws {@link TrainkitError} when `model` is not a model
 */
export function prunableParams(
  model: LayersModelLike,
  opts: { excludeFirstConv?: boolean; excludeOutput?: boolean } = {},
): ParamRef[] {
  let refs = paramsOf(model, { roles: ['kernel'], kinds: ['conv2d', 'depthwiseConv2d', 'dense'] });
  if (opts.excludeFirstConv) {
    const first = refs.find((r) => r.kind === 'conv2d' || r.kind === 'depthwiseConv2d');
    refs = refs.filter((r) => r !== first);
  }
  if (opts.excludeOutput) {
    const dense = refs.filter((r) => r.kind === 'dense');
    const last = dense[dense.length - 1];
    refs = refs.filter((r) => r !== last);
  }
  return refs;
}

interface Entry {
  variable: Variable;
  name: string;
  layerName: string | undefined;
}

function entriesOf(params: ParamsArg): Entry[] {
  if (isModelLike(params)) {
    const refs = prunableParams(params);
    if (refs.length === 0) throw invalidArgument('params', params, 'a model with at least one conv or dense kernel');
    refs.forEach((r) => assertLive(r.variable, 'params'));
    return refs.map((r) => ({ variable: r.variable, name: r.name, layerName: r.layerName }));
  }
  const vars = resolveVariables('params', params);
  const refs = params as ReadonlyArray<Variable | ParamRef>;
  return vars.map((v, i) => {
    const r = refs[i];
    return { variable: v, name: v.name, layerName: isParamRef(r) ? r.layerName : undefined };
  });
}

/**
 * Magnitude pruning masks with exact counts: the smallest |w| go first, ties broken by flat index (lower index
 * pruned first; in `global` scope the index runs over the tensors in `params` order).
 *
 * @param params - the tensors to prune: variables, ParamRefs, or a model (then {@link prunableParams}(model))
 * @param args - {@link MagnitudeMaskArgs}
 * @returns new masks for every non-excluded variable; the caller owns them ({@link disposeMasks})
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for sparsity/rate outside [0, 1), both or neither given, a target
 *   below `previous`'s sparsity, or NaN weights; `UNKNOWN_VARIABLE` when `previous` or `exclude` name a variable not in
 *   `params`; `SHAPE_MISMATCH` when a previous mask's shape differs
 * @remarks Spec A (magnitude mask). open_lth prunes n = ceil(rate · remaining) with a `>` threshold, which can
 *   prune more than n under ties; here n = round(·) exactly.
 * @example
 * ```ts
 * const masks = magnitudeMasks(model, { sparsity: 0.8, scope: 'global' });
 * applyMasks(model, masks);
 * ```
 */
export function magnitudeMasks(params: ParamsArg, args: MagnitudeMaskArgs): Masks {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {sparsity | rate, scope?, previous?, exclude?}');
  const { sparsity, rate, previous, exclude = [] } = args;
  if (!Array.isArray(exclude) || exclude.some((x) => typeof x !== 'string')) throw invalidArgument('exclude', exclude, 'an array of variable or layer names');
  if (args.keepAtLeastOne !== undefined && typeof args.keepAtLeastOne !== 'boolean') throw invalidArgument('keepAtLeastOne', args.keepAtLeastOne, 'true or false');
  if (args.onWarning !== undefined && typeof args.onWarning !== 'function') throw invalidArgument('onWarning', args.onWarning, 'a function (message) => void');
  const scope = args.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw invalidArgument('scope', scope, '"layer" or "global"');
  if ((sparsity === undefined) === (rate === undefined)) {
    throw invalidArgument('sparsity', sparsity, 'given exactly when rate is not (one of them, in [0, 1))');
  }
  if (sparsity !== undefined) checkNumber('sparsity', sparsity, { min: 0, maxExclusive: 1 });
  if (rate !== undefined) checkNumber('rate', rate, { min: 0, maxExclusive: 1 });
  const warn = args.onWarning ?? ((m: string) => console.warn(m));
  const keepOne = args.keepAtLeastOne ?? true;

  const all = entriesOf(params);
  const excluded = new Set<string>();
  for (const x of exclude) {
    const hit = all.filter((e) => e.name === x || e.layerName === x);
    if (hit.length === 0) {
      throw new TrainkitError('UNKNOWN_VARIABLE', `exclude names "${x}", which is neither a variable nor a layer in params.`, 'exclude');
    }
    for (const e of hit) excluded.add(e.name);
  }
  if (previous !== undefined) checkTensorMap('previous', previous, new Map(all.map((e) => [e.name, e.variable])), { binary: true });
  const entries = all.filter((e) => !excluded.has(e.name));

  // Host copies: |w| and the previous keep-flags.
  const absW = entries.map((e) => {
    const w = e.variable.dataSync() as Float32Array;
    const a = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const v = w[i] as number;
      if (Number.isNaN(v)) throw invalidArgument('params', e.name, 'tensors without NaN weights');
      a[i] = Math.abs(v);
    }
    return a;
  });
  const keep = entries.map((e, l) => {
    const prev = previous?.get(e.name);
    const k = new Uint8Array((absW[l] as Float64Array).length).fill(1);
    if (prev) {
      const p = prev.dataSync();
      for (let i = 0; i < k.length; i++) k[i] = (p[i] as number) !== 0 ? 1 : 0;
    }
    return k;
  });
  const countPruned = (k: Uint8Array): number => k.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);

  const target = (n: number, alreadyPruned: number, what: string): number => {
    const z = sparsity !== undefined ? Math.round(sparsity * n) : alreadyPruned + Math.round((rate as number) * (n - alreadyPruned));
    if (z < alreadyPruned) {
      throw invalidArgument('sparsity', sparsity, `at least the sparsity of previous (${alreadyPruned}/${n} weights of ${what} are pruned already)`);
    }
    return z;
  };

  if (scope === 'layer') {
    entries.forEach((e, l) => {
      const a = absW[l] as Float64Array;
      const k = keep[l] as Uint8Array;
      const pruned = countPruned(k);
      let z = target(a.length, pruned, `"${e.name}"`);
      if (keepOne && z >= a.length && a.length > 0) z = Math.max(a.length - 1, pruned);
      pruneSmallest([a], [k], z - pruned);
    });
  } else {
    const n = absW.reduce((s, a) => s + a.length, 0);
    const pruned = keep.reduce((s, k) => s + countPruned(k), 0);
    const z = target(n, pruned, 'all tensors');
    pruneSmallest(absW, keep, z - pruned);
    entries.forEach((e, l) => {
      const k = keep[l] as Uint8Array;
      if (k.length > 0 && countPruned(k) === k.length) warn(`@trainkit/prune: global pruning removed every weight of "${e.name}".`);
    });
  }

  const out: Masks = new Map();
  for (const e of all) {
    if (excluded.has(e.name)) {
      const prev = previous?.get(e.name);
      if (prev) out.set(e.name, tensor(prev.dataSync() as Float32Array, prev.shape, 'float32'));
      continue;
    }
    const l = entries.indexOf(e);
    const k = keep[l] as Uint8Array;
    out.set(e.name, tensor(Float32Array.from(k), e.variable.shape, 'float32'));
  }
  return out;
}

/** Marks the `count` smallest values (ties: lower flat index over the concatenation first) among kept entries as pruned. */
function pruneSmallest(values: Float64Array[], keep: Uint8Array[], count: number): void {
  if (count <= 0) return;
  const offsets: number[] = [];
  let total = 0;
  for (const v of values) {
    offsets.push(total);
    total += v.length;
  }
  const flat = new Float64Array(total);
  values.forEach((v, l) => flat.set(v, offsets[l]));
  const cand: number[] = [];
  keep.forEach((k, l) => {
    const off = offsets[l] as number;
    for (let i = 0; i < k.length; i++) if (k[i] === 1) cand.push(off + i);
  });
  const idx = Uint32Array.from(cand);
  idx.sort((i, j) => (flat[i] as number) - (flat[j] as number) || i - j);
  for (let c = 0; c < count && c < idx.length; c++) {
    const g = idx[c] as number;
    const t = findTensor(offsets, g); // idx is sorted by value, so look the tensor up by position
    (keep[t] as Uint8Array)[g - (offsets[t] as number)] = 0;
  }
}

function findTensor(offsets: number[], g: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((offsets[mid] as number) <= g) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Multiplies each masked variable by its mask in place (`v.assign(v ⊙ m)`).
 *
 * @param params - the variables the masks may name (variables, ParamRefs, or a model: all its variables)
 * @param masks - {@link Masks} (not disposed)
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a mask names a variable not in `params`; `SHAPE_MISMATCH`;
 *   `INVALID_ARGUMENT` for a mask value other than 0 and 1; `DISPOSED` for a disposed variable or mask. All checks
 *   run before the first write, so a failing call changes nothing.
 */
export function applyMasks(params: ParamsArg, masks: Masks): void {
  if (!(masks instanceof Map)) throw invalidArgument('masks', masks, 'Masks (a Map from variable name to tensor)');
  const vars = byName(resolveVariables('params', params, true));
  checkTensorMap('masks', masks, vars, { binary: true });
  const pairs: Array<[Variable, Tensor]> = [...masks].map(([name, m]) => [vars.get(name) as Variable, m]);
  tidy(() => {
    for (const [v, m] of pairs) v.assign(maskedValue(v, m));
  });
}

/** Per-tensor and total count of exact zeros, as {@link sparsityOf} returns. */
export interface SparsityReport {
  /** Zeros / size over all tensors. */
  sparsity: number;
  zeros: number;
  size: number;
  layers: Array<{ name: string; zeros: number; size: number; sparsity: number }>;
}

/**
 * Counts the weights that are exactly zero.
 *
 * @param params - variables, ParamRefs, or a model (then {@link prunableParams}(model))
 * @returns a {@link SparsityReport} (plain numbers, no tensors)
 * @throws {@link TrainkitError} on an empty or invalid `params`
 */
export function sparsityOf(params: ParamsArg): SparsityReport {
  const entries = entriesOf(params);
  const layers = entries.map((e) => {
    const w = e.variable.dataSync();
    let zeros = 0;
    for (let i = 0; i < w.length; i++) if ((w[i] as number) === 0) zeros++;
    const size = sizeOf(e.variable.shape);
    return { name: e.name, zeros, size, sparsity: size === 0 ? 0 : zeros / size };
  });
  const zeros = layers.reduce((s, l) => s + l.zeros, 0);
  const size = layers.reduce((s, l) => s + l.size, 0);
  return { sparsity: size === 0 ? 0 : zeros / size, zeros, size, layers };
}

/**
 * Fraction of zeros in masks (overall), e.g. to label a round.
 *
 * @param masks - {@link Masks} (not disposed)
 * @returns zeros / size over all masks (0 for empty masks)
 */
export function maskSparsity(masks: Masks): number {
  checkTensorMap('masks', masks, null);
  let zeros = 0;
  let size = 0;
  for (const m of masks.values()) {
    const d = m.dataSync();
    size += d.length;
    for (let i = 0; i < d.length; i++) if ((d[i] as number) === 0) zeros++;
  }
  return size === 0 ? 0 : zeros / size;
}

/**
 * Disposes every mask tensor and clears the map; idempotent.
 *
 * @param masks - {@link Masks} owned by the caller
 */
export function disposeMasks(masks: Masks | null | undefined): void {
  if (masks === null || masks === undefined) return;
  if (!(masks instanceof Map)) throw invalidArgument('masks', masks, 'Masks (a Map from variable name to tensor), null or undefined');
  for (const m of masks.values()) if (m && typeof m.dispose === 'function' && !m.isDisposed) m.dispose();
  masks.clear();
}
