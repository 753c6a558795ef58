import type { Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, checkNumber, invalidArgument, type ParamsArg } from '@trainkit/core';
import { checkShape, checkTensorMap, isModelLike, resolveVariables } from './internal/params';
import { prunableParams, type Masks } from './mask';

/** Weights to compare: a {@link Snapshot}-like map (name → tensor), variables, ParamRefs, or a model (its prunable kernels). */
export type WeightsArg = ReadonlyMap<string, Tensor> | ParamsArg;

function toMap(argument: string, w: WeightsArg): Map<string, Tensor> {
  if (w instanceof Map) {
    checkTensorMap(argument, w, null, { what: 'a Map from name to tensor, variables, ParamRefs or a model' });
    return new Map(w);
  }
  if (typeof w !== 'object' || w === null) throw invalidArgument(argument, w, 'a Map from name to tensor, variables, ParamRefs or a model');
  if (isModelLike(w)) return new Map(prunableParams(w).map((r) => [r.name, r.variable as Tensor]));
  return new Map(resolveVariables(argument, w as ParamsArg).map((v) => [v.name, v as Tensor]));
}

function pick(m: Map<string, Tensor>, names: string[] | undefined, argument: string): Map<string, Tensor> {
  if (!names) return m;
  return new Map(
    names.map((n) => {
      const t = m.get(n);
      if (!t) throw new TrainkitError('UNKNOWN_VARIABLE', `${argument} has no tensor "${n}" (a kernel of the model compared).`, argument);
      return [n, t];
    }),
  );
}

/** The tensor's values; NaN has no rank, so it is refused (it would silently count as 0). */
function finiteValues(argument: string, name: string, t: Tensor): ArrayLike<number> {
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i] as number)) throw invalidArgument(argument, name, `tensors without NaN values ("${name}" has NaN at flat index ${i})`);
  }
  return d;
}

/** Indices of the kept entries sorted by |w| descending, ties by lower index first. */
function rankDescending(w: ArrayLike<number>, keep: ArrayLike<number> | undefined): Uint32Array {
  const idx: number[] = [];
  for (let i = 0; i < w.length; i++) if (!keep || (keep[i] as number) !== 0) idx.push(i);
  const abs = Float64Array.from(w, (v) => Math.abs(v));
  const out = Uint32Array.from(idx);
  out.sort((i, j) => (abs[j] as number) - (abs[i] as number) || i - j);
  return out;
}

/** Options of {@link weightCorrelations} with masks. */
export interface CorrelationOptions {
  /**
   * What p is a fraction of in a masked tensor. `'mask'`: of the kept weights (both sides ranked inside the mask,
   * N_l = kept), the paper's reading for two sparse networks with the same mask. `'layer'`: of the whole layer (both
   * sides ranked over the whole layer, N_l = layer size; p·N_l must not exceed the kept count), the paper's Table 1 /
   * App. F reading for a sparse network against a dense one ("restrict p less than (1 − sparsity)"). `'auto'` picks
   * `'layer'` when either side has a non-zero weight where the mask is 0 (a dense side), else `'mask'`.
   * @defaultValue 'auto'
   */
  pOf?: 'auto' | 'mask' | 'layer';
}

/** True when either side has a non-zero entry at a masked position (one side is dense). */
function denseSide(A: Map<string, Tensor>, B: Map<string, Tensor>, masks: Masks): boolean {
  for (const [name, m] of masks) {
    const md = m.dataSync();
    const da = (A.get(name) as Tensor).dataSync();
    const db = (B.get(name) as Tensor).dataSync();
    for (let i = 0; i < md.length; i++) if ((md[i] as number) === 0 && ((da[i] as number) !== 0 || (db[i] as number) !== 0)) return true;
  }
  return false;
}

/**
 * The overlap ratio R_p of Liu et al. 2021 (Eq. 1) for several p at once (each tensor is ranked once).
 *
 * @param a - weights θ (e.g. a snapshot of θ0)
 * @param b - weights θ' with the same names and shapes (e.g. θT)
 * @param ps - fractions in (0, 1]
 * @param masks - optional masks of the sparse side(s); see `opts.pOf` for what p means inside a masked tensor
 * @param opts - {@link CorrelationOptions}
 * @returns R_p for each p, in order
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when `a` and `b` (or `masks`) do not name the same tensors;
 *   `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for p outside (0, 1], NaN weights, a mask value other than 0/1, a bad `pOf`,
 *   or (with `pOf` `'layer'`) a p whose top ⌈p·N_l⌉ exceeds the kept weights of a masked layer; `DISPOSED`
 * @remarks R_p(θ, θ') = Σ_l |T_p(θ^l) ∩ T_p(θ'^l)| / Σ_l k_l with T_p the top-k_l = ⌈p·N_l⌉ entries by |w| (ties: lower
 *   index first). Eq. 1 divides by p·Σ_l N_l; the two agree when every p·N_l is an integer, and Σ k_l makes R_p(θ, θ) = 1
 *   exactly. R_p ≈ p means no evidence of correlation; for independent tensors E[R_p] = p.
 */
export function weightCorrelations(a: WeightsArg, b: WeightsArg, ps: readonly number[], masks?: Masks, opts: CorrelationOptions = {}): number[] {
  if (!Array.isArray(ps) || ps.length === 0) throw invalidArgument('ps', ps, 'a non-empty array of fractions in (0, 1]');
  ps.forEach((p, i) => checkNumber(`ps[${i}]`, p, { minExclusive: 0, max: 1 }));
  // A model on either side fixes the compared tensors to its conv/dense kernels; the other side must hold them.
  const model = isModelLike(a) ? a : isModelLike(b) ? b : undefined;
  const names = model ? prunableParams(model).map((r) => r.name) : undefined;
  const A = pick(toMap('a', a), names, 'a');
  const B = pick(toMap('b', b), names, 'b');
  for (const name of A.keys()) {
    if (!B.has(name)) throw new TrainkitError('UNKNOWN_VARIABLE', `a has "${name}" but b does not; both must name the same tensors.`, 'b');
  }
  for (const name of B.keys()) {
    if (!A.has(name)) throw new TrainkitError('UNKNOWN_VARIABLE', `b has "${name}" but a does not; both must name the same tensors.`, 'a');
  }
  if (masks !== undefined) {
    checkTensorMap('masks', masks, null, { binary: true });
    for (const [name, m] of masks) {
      const t = A.get(name);
      if (!t) throw new TrainkitError('UNKNOWN_VARIABLE', `masks has "${name}", which is not among the compared tensors.`, 'masks');
      checkShape('masks', name, m, t.shape);
    }
  }
  if (typeof opts !== 'object' || opts === null) throw invalidArgument('opts', opts, 'an object { pOf }');
  const pOfArg = opts.pOf ?? 'auto';
  if (!['auto', 'mask', 'layer'].includes(pOfArg)) throw invalidArgument('pOf', pOfArg, "'auto', 'mask' or 'layer'");
  for (const [name, tb] of B) checkShape('b', name, tb, (A.get(name) as Tensor).shape);
  const pOf = masks === undefined ? 'layer' : pOfArg === 'auto' ? (denseSide(A, B, masks) ? 'layer' : 'mask') : pOfArg;
  if (masks !== undefined && pOf === 'layer') {
    for (const [name, m] of masks) {
      const md = m.dataSync();
      let kept = 0;
      for (let i = 0; i < md.length; i++) if ((md[i] as number) !== 0) kept++;
      for (const p of ps) {
        if (Math.ceil(p * md.length - 1e-9) > kept) {
          throw invalidArgument('ps', p, `p ≤ the kept fraction ${(kept / md.length).toFixed(4)} of "${name}" (p relative to the whole layer: restrict p below 1 − sparsity), or pOf 'mask'`);
        }
      }
    }
  }
  const hits = ps.map(() => 0);
  const totals = ps.map(() => 0);
  for (const [name, ta] of A) {
    const tb = B.get(name) as Tensor;
    checkShape('b', name, tb, ta.shape);
    const keep = pOf === 'mask' ? masks?.get(name)?.dataSync() : undefined;
    const ra = rankDescending(finiteValues('a', name, ta), keep);
    const rb = rankDescending(finiteValues('b', name, tb), keep);
    const n = ra.length;
    if (n === 0) continue;
    // Walk the k's in increasing order, growing the two top sets incrementally.
    const order = ps.map((p, i) => [Math.ceil(p * n - 1e-9), i] as const).sort((x, y) => x[0] - y[0]);
    const inA = new Uint8Array(ta.size);
    const inB = new Uint8Array(ta.size);
    let k = 0;
    let common = 0;
    for (const [kWant, i] of order) {
      for (; k < kWant; k++) {
        const ia = ra[k] as number;
        const ib = rb[k] as number;
        inA[ia] = 1;
        if (inB[ia]) common++;
        inB[ib] = 1;
        if (inA[ib]) common++;
      }
      hits[i] = (hits[i] as number) + common;
      totals[i] = (totals[i] as number) + kWant;
    }
  }
  return hits.map((h, i) => ((totals[i] as number) === 0 ? 0 : h / (totals[i] as number)));
}

/**
 * The overlap ratio R_p(θ, θ') of Liu et al. 2021, Eq. 1: how many of the top-p largest-magnitude weights of θ are also
 * among the top-p of θ' (layer by layer).
 *
 * @param a - weights θ: a snapshot map, variables, ParamRefs, or a model (its conv/dense kernels)
 * @param b - weights θ' with the same names and shapes
 * @param p - fraction in (0, 1]
 * @param masks - optional masks of the sparse side(s)
 * @param opts - {@link CorrelationOptions}: what p is a fraction of inside a masked tensor
 * @returns R_p in [0, 1]; p means "no correlation", more means the large weights stayed large
 * @throws {@link TrainkitError} see {@link weightCorrelations}
 * @remarks See {@link weightCorrelations} for the rounding.
 * @example
 * ```ts
 * const theta0 = snapshot(model); await train(); console.log(weightCorrelation(theta0, model, 0.2));
 * ```
 */
export function weightCorrelation(a: WeightsArg, b: WeightsArg, p: number, masks?: Masks, opts?: CorrelationOptions): number {
  checkNumber('p', p, { minExclusive: 0, max: 1 });
  return weightCorrelations(a, b, [p], masks, opts)[0] as number;
}
