import {
  Variable,
  mul,
  ones,
  serialization,
  tensor,
  tidy,
  variable,
  type NamedTensorMap,
  type Optimizer,
  type Tensor,
} from '@tensorflow/tfjs-core';
import {
  HookedOptimizer,
  TrainkitError,
  assertLive,
  canReadSync,
  checkNumber,
  readBack,
  invalidArgument,
  type NamedTensor,
  type ParamsArg,
  type StepContext,
  type StepHook,
} from '@trainkit/core';
import { WeightBinding, weightKey } from './binding';
import { checkShape, maskedValue } from './internal/params';
import { absValues, pruneOrder, targetsOf, type Target } from './internal/targets';
import type { Masks } from './mask';
import { isPruningSchedule, pruningScheduleFromConfig, retarget, type PruningSchedule, type PruningScheduleConfig } from './schedule';
import { checkNm, nmKeep, type NmMaskArgs } from './structured';

/** A per-layer target: a fraction in [0, 1), a count of weights (an integer >= 1), a schedule, or null (not pruned). */
export type LayerSparsity = number | PruningSchedule | null;

/** Options of {@link gradualPruningHook}. */
export interface GradualPruningOptions {
  /**
   * `layer`: each tensor is ranked on its own and gets round(s_l(t)·N_l) zeros; `global`: one ranking over all tensors,
   * round(s(t)·N) zeros in total.
   * @defaultValue 'layer'
   */
  scope?: 'layer' | 'global';
  /**
   * Per-layer targets (layer scope): a map from layer name (or variable name) to a {@link LayerSparsity}, or a function
   * `(layerName, variableName) => LayerSparsity | undefined` (undefined: the main schedule). A number x ends the main
   * schedule at x instead of its final sparsity; an integer x >= 1 is a count of weights.
   */
  sparsity?: Readonly<Record<string, LayerSparsity>> | ((layerName: string, variableName: string) => LayerSparsity | undefined);
  /** Layer or variable names (exact) and patterns to leave unpruned. */
  exclude?: ReadonlyArray<string | RegExp>;
  /** Starting masks (e.g. {@link channelMasks}): their zeros stay pruned for the whole run and count towards the target. */
  masks?: Masks;
  /** Re-derive N:M masks ({@link nmMasks}) from the current weights at each update step instead of ranking by magnitude. */
  nm?: NmMaskArgs;
  /** @defaultValue 'gradual-prune' */
  name?: string;
}

/** JSON config of a {@link GradualPruningHook}. */
export interface GradualPruningConfig extends serialization.ConfigDict {
  name: string;
  scope: 'layer' | 'global';
  schedule: PruningScheduleConfig & serialization.ConfigDict;
  variables: Array<{ name: string; shape: number[]; schedule: PruningScheduleConfig & serialization.ConfigDict }>;
  nm: (NmMaskArgs & serialization.ConfigDict) | null;
  floors: boolean;
}

interface Entry {
  key: string;
  shape: number[];
  size: number;
  schedule: PruningSchedule;
  mask: Variable;
  floor: Variable | null;
}

/** What the constructor takes; build it with {@link gradualPruningHook}. @internal */
export interface GradualPruningSpec {
  name: string;
  scope: 'layer' | 'global';
  schedule: PruningSchedule;
  variables: Array<{ name: string; shape: number[]; schedule: PruningSchedule; floor?: Tensor | 'ones' }>;
  nm: NmMaskArgs | null;
}

/**
 * Gradual magnitude pruning as a {@link StepHook} (Zhu & Gupta 2017; TF-MOT `prune_low_magnitude` +
 * `UpdatePruningStep`): at each update step of its schedule it re-ranks the weights and sets the masks to exactly the
 * scheduled count; in between, the masks hold exactly as with {@link maskHook} (gradients masked, weights re-masked).
 *
 * @remarks The 0-based step t is the optimizer's iteration count before the step (`ctx.step − 1`), TF-MOT's
 * `pruning_step`. At an update step the masks are recomputed from the weights as they are before that step's update
 * (what TF-MOT's wrapper sees in its forward pass), then the step runs under the new masks. Ranking is by |w| of the
 * masked weights, so already-pruned weights (zeros) go first; ties go to the lower flat index. Layer scope keeps at
 * least one weight per tensor.
 *
 * Where `dataSync()` does not work (webgpu in Node, see `canReadSync`), the hook reads the weights, masks and floors an
 * update needs back asynchronously ahead of it: on creation, and after the step before each update step. The update
 * then ranks the same values as on the other backends. The training loop must await between steps (e.g.
 * `await loss.data()`, as `model.fit` and the bench do), or call {@link GradualPruningHook.settle} before a step.
 */
export class GradualPruningHook implements StepHook {
  /** @internal */
  static get className(): string {
    return 'PruneGradualPruningHook';
  }
  readonly className = 'PruneGradualPruningHook';
  readonly name: string;
  /** `layer` or `global`. */
  readonly scope: 'layer' | 'global';
  /** The main schedule (global scope: the only one). */
  readonly schedule: PruningSchedule;
  private readonly nm: NmMaskArgs | null;
  private readonly entries: Entry[] = [];
  private readonly binding: WeightBinding;
  private disposed = false;
  /** A read-back started for the update at `step` (backends without synchronous readback only). */
  private prefetch: { step: number; done: Promise<void>; error?: unknown } | null = null;

  /** @internal Use {@link gradualPruningHook}. */
  constructor(spec: GradualPruningSpec) {
    this.name = spec.name;
    this.scope = spec.scope;
    this.schedule = spec.schedule;
    this.nm = spec.nm;
    this.binding = new WeightBinding(spec.variables);
    for (const v of spec.variables) {
      const size = v.shape.reduce((a, b) => a * b, 1);
      const floor = v.floor === undefined ? null : tidy(() => variable(v.floor === 'ones' ? ones(v.shape) : mul(v.floor as Tensor, 1), false));
      const mask = tidy(() => variable(floor ? mul(floor, 1) : ones(v.shape), false));
      this.entries.push({ key: v.name, shape: [...v.shape], size, schedule: v.schedule, mask, floor });
    }
    if (!canReadSync()) this.readAhead(this.entries, -1);
  }

  /** The pruned variables' names (as given at construction). */
  get variableNames(): string[] {
    return this.entries.map((e) => e.key);
  }

  /** The target sparsity of each pruned variable at a 0-based step (what an update at that step would set). */
  targetSparsity(step: number): Map<string, number> {
    return new Map(this.entries.map((e) => [e.key, (this.scope === 'global' ? this.schedule : e.schedule).sparsity(step)]));
  }

  /** Re-ranks at update steps, then zeroes the gradients of pruned weights. */
  transformGradients(grads: NamedTensorMap, ctx: StepContext): NamedTensorMap {
    this.checkAlive();
    this.binding.followGradients(grads);
    this.update(ctx.step - 1);
    return this.binding.maskGradients(grads, this.entries.map((e) => [e.key, e.mask] as const));
  }

  /** Re-applies the masks to the weights; without synchronous readback, starts reading what the next step's update needs. */
  afterApply(ctx: StepContext): void {
    this.checkAlive();
    this.apply();
    if (!canReadSync()) {
      const due = this.dueAt(ctx.step); // the next step's 0-based index is this step's ctx.step
      if (due.length > 0) this.readAhead(due, ctx.step);
    }
  }

  /**
   * Waits for the hook's read-ahead and reads every pruned weight, mask and floor back to the host, so that the next
   * {@link GradualPruningHook.update} can run. Needed only where `dataSync()` does not work (webgpu in Node) and the
   * loop does not await between steps, or the weights were changed outside training; elsewhere it returns at once.
   *
   * @returns when the values are on the host
   */
  async settle(): Promise<void> {
    this.checkAlive();
    if (canReadSync()) return;
    if (this.prefetch) await this.prefetch.done;
    this.prefetch = null;
    await readBack(this.tensorsOf(this.entries));
  }

  private tensorsOf(entries: readonly Entry[]): Tensor[] {
    return entries.flatMap((e) => [this.binding.variable(e.key, 'target'), e.mask, ...(e.floor ? [e.floor] : [])]);
  }

  /** Starts an asynchronous read of what an update of `entries` reads (its result lands in tfjs' host cache). */
  private readAhead(entries: readonly Entry[], step: number): void {
    const p: NonNullable<GradualPruningHook['prefetch']> = { step, done: Promise.resolve() };
    p.done = readBack(this.tensorsOf(entries)).then(
      () => undefined,
      (err: unknown) => {
        p.error = err;
      },
    );
    this.prefetch = p;
  }

  private dueAt(step: number): Entry[] {
    return this.scope === 'global' ? (this.schedule.isUpdateStep(step) ? this.entries : []) : this.entries.filter((e) => e.schedule.isUpdateStep(step));
  }

  /**
   * Recomputes the masks whose schedule updates at `step` (0-based) and applies them; training calls it for you.
   *
   * @returns whether any mask was recomputed
   */
  update(step: number): boolean {
    this.checkAlive();
    checkNumber('step', step, { integer: true, min: 0 });
    const due = this.dueAt(step);
    if (due.length === 0) return false;
    const keeps = canReadSync() ? this.newKeeps(due, step) : this.newKeepsFromReadAhead(due, step);
    tidy(() => {
      due.forEach((e, i) => e.mask.assign(tensor(Float32Array.from(keeps[i] as Uint8Array), e.shape, 'float32')));
    });
    this.apply();
    return true;
  }

  /** {@link GradualPruningHook.newKeeps} on the values the read-ahead put on the host; a clear error when they are not there. */
  private newKeepsFromReadAhead(due: readonly Entry[], step: number): Uint8Array[] {
    const p = this.prefetch;
    if (p?.error !== undefined) {
      this.prefetch = null;
      throw p.error;
    }
    try {
      return this.newKeeps(due, step);
    } catch (err) {
      if (err instanceof TrainkitError) throw err;
      throw new TrainkitError(
        'STATE_MISMATCH',
        `the gradual pruning update at step ${step} needs the weights and masks on the host, and they are not there yet (${String((err as Error).message ?? err)}): ` +
          `on a backend without synchronous readback (webgpu in Node), await between steps (e.g. \`await loss.data()\`) or call \`await hook.settle()\` before the step.`,
        'step',
      );
    }
  }

  /** The keep-flags an update at `step` sets for `due` (reads the weights, masks and floors synchronously). */
  private newKeeps(due: readonly Entry[], step: number): Uint8Array[] {
    const targets: Target[] = due.map((e) => ({ variable: this.binding.variable(e.key, 'target'), name: e.key, layerName: e.key, kind: undefined }));
    const floors = due.map((e) => (e.floor ? (e.floor.dataSync() as Float32Array) : null));
    let keeps: Uint8Array[];
    if (this.nm) {
      keeps = targets.map((t) => nmKeep(t, this.nm as NmMaskArgs));
    } else {
      // Scores: |w ⊙ m| (pruned weights are 0 already); floor positions sort first.
      const scores = targets.map((t, i) => {
        const a = absValues(t);
        const m = due[i]?.mask.dataSync() as Float32Array;
        const f = floors[i];
        for (let j = 0; j < a.length; j++) {
          if ((m[j] as number) === 0) a[j] = 0;
          if (f && (f[j] as number) === 0) a[j] = -1;
        }
        return a;
      });
      const wasPruned = due.map((e) => Uint8Array.from(e.mask.dataSync() as Float32Array, (v) => (v === 0 ? 1 : 0)));
      if (this.scope === 'global') {
        const total = due.reduce((s, e) => s + e.size, 0);
        const flat = new Float64Array(total);
        const flatPruned = new Uint8Array(total);
        let off = 0;
        scores.forEach((a, i) => {
          flat.set(a, off);
          flatPruned.set(wasPruned[i] as Uint8Array, off);
          off += a.length;
        });
        const floorCount = floors.reduce((s, f) => s + (f ? f.reduce((c, v) => c + (v === 0 ? 1 : 0), 0) : 0), 0);
        const z = Math.max(Math.round(this.schedule.sparsity(step) * total), floorCount);
        const keepFlat = keepAllBut(flat, flatPruned, z);
        keeps = [];
        off = 0;
        for (const e of due) {
          keeps.push(keepFlat.subarray(off, off + e.size));
          off += e.size;
        }
      } else {
        keeps = due.map((e, i) => {
          const f = floors[i];
          const floorCount = f ? f.reduce((c, v) => c + (v === 0 ? 1 : 0), 0) : 0;
          const z = Math.max(Math.min(Math.round(e.schedule.sparsity(step) * e.size), e.size - 1), floorCount);
          return keepAllBut(scores[i] as Float64Array, wasPruned[i] as Uint8Array, z);
        });
      }
    }
    return keeps.map((k, i) => {
      const f = floors[i];
      return f ? Uint8Array.from(k, (v, j) => (v === 1 && (f[j] as number) !== 0 ? 1 : 0)) : k;
    });
  }

  /** Applies the current masks to the weights now. */
  apply(): void {
    this.checkAlive();
    tidy(() => {
      for (const e of this.entries) {
        const v = this.binding.variable(e.key, 'target');
        v.assign(maskedValue(v, e.mask));
      }
    });
  }

  /**
   * Points the hook at the variables of `params` with the same layer and weight names (a model loaded again).
   *
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` / `SHAPE_MISMATCH`
   */
  bind(params: ParamsArg): void {
    this.checkAlive();
    this.binding.bindTo(params);
  }

  /**
   * Copies of the current masks, keyed by the bound variables' names (for {@link exportSparse} or {@link maskHook}).
   *
   * @returns new tensors the caller owns ({@link disposeMasks})
   */
  currentMasks(): Masks {
    this.checkAlive();
    return new Map(this.entries.map((e) => [this.binding.nameOf(e.key), tidy(() => mul(e.mask, 1))]));
  }

  /** The masks (`mask/<name>`) and fixed starting masks (`floor/<name>`) as live variables: do not dispose. */
  getWeights(): NamedTensor[] {
    this.checkAlive();
    const out: NamedTensor[] = this.entries.map((e) => ({ name: `mask/${e.key}`, tensor: e.mask }));
    for (const e of this.entries) if (e.floor) out.push({ name: `floor/${e.key}`, tensor: e.floor });
    return out;
  }

  /**
   * Restores {@link GradualPruningHook.getWeights}' output (values copied). Everything is checked
   * ({@link GradualPruningHook.checkWeights}) before anything is written.
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` for a missing or unknown entry; `SHAPE_MISMATCH`
   */
  setWeights(weights: NamedTensor[]): void {
    const given = this.matchWeights(weights);
    tidy(() => {
      for (const [k, v] of this.stateVariables()) v.assign(mul(given.get(k) as Tensor, 1));
    });
  }

  /** Throws what {@link GradualPruningHook.setWeights} would throw, without writing. */
  checkWeights(weights: NamedTensor[]): void {
    this.matchWeights(weights);
  }

  private stateVariables(): Map<string, Variable> {
    const out = new Map<string, Variable>();
    for (const e of this.entries) {
      out.set(`mask/${e.key}`, e.mask);
      if (e.floor) out.set(`floor/${e.key}`, e.floor);
    }
    return out;
  }

  /** Saved entries by state name: exact names first, else the same layer and weight name (another model instance). */
  private matchWeights(weights: NamedTensor[]): Map<string, Tensor> {
    this.checkAlive();
    if (!Array.isArray(weights)) throw invalidArgument('weights', weights, 'an array of {name, tensor}');
    const expected = this.stateVariables();
    const given = new Map<string, Tensor>();
    for (const w of weights) {
      if (typeof w !== 'object' || w === null || typeof w.name !== 'string') throw invalidArgument('weights', w, 'an array of {name, tensor}');
      const slash = w.name.indexOf('/');
      const [kind, key] = [w.name.slice(0, slash), w.name.slice(slash + 1)];
      const hits = expected.has(w.name) ? [w.name] : [...expected.keys()].filter((k) => k.startsWith(`${kind}/`) && weightKey(k.slice(slash + 1)) === weightKey(key));
      if (hits.length !== 1 || given.has(hits[0] as string)) {
        throw new TrainkitError('STATE_MISMATCH', `weight "${w.name}" is not part of gradual pruning hook "${this.name}"${hits.length === 1 ? ' (given twice)' : ''}.`, 'weights');
      }
      const name = hits[0] as string;
      assertLive(w.tensor, `weights["${w.name}"]`);
      checkShape('weights', w.name, w.tensor, (expected.get(name) as Variable).shape);
      given.set(name, w.tensor);
    }
    for (const k of expected.keys()) {
      if (!given.has(k)) throw new TrainkitError('STATE_MISMATCH', `no saved state "${k}" for gradual pruning hook "${this.name}".`, 'weights');
    }
    return given;
  }

  /** {@link GradualPruningConfig}; JSON only (per-layer targets are stored resolved, one schedule per variable). */
  getConfig(): GradualPruningConfig {
    return {
      name: this.name,
      scope: this.scope,
      schedule: this.schedule.getConfig() as GradualPruningConfig['schedule'],
      variables: this.entries.map((e) => ({ name: e.key, shape: [...e.shape], schedule: e.schedule.getConfig() as GradualPruningConfig['schedule'] })),
      nm: this.nm ? ({ ...this.nm } as GradualPruningConfig['nm']) : null,
      floors: this.entries.some((e) => e.floor !== null),
    };
  }

  /** Rebuilds the hook from its config with all-ones masks; `HookedOptimizer.setWeights` restores their values. */
  static fromConfig<T extends serialization.Serializable>(cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    const c = config as GradualPruningConfig;
    const spec: GradualPruningSpec = {
      name: c.name,
      scope: c.scope,
      schedule: pruningScheduleFromConfig(c.schedule),
      variables: c.variables.map((v) => ({ name: v.name, shape: v.shape, schedule: pruningScheduleFromConfig(v.schedule), ...(c.floors ? { floor: 'ones' as const } : {}) })),
      nm: c.nm,
    };
    return new (cls as unknown as new (s: GradualPruningSpec) => T)(spec);
  }

  /** Frees the masks; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const e of this.entries) {
      e.mask.dispose();
      e.floor?.dispose();
    }
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', `gradual pruning hook "${this.name}" was disposed.`);
  }
}

/** Keep-flags with exactly `z` zeros: the first z of the pruning order. */
function keepAllBut(scores: Float64Array, wasPruned: Uint8Array, z: number): Uint8Array {
  const order = pruneOrder(scores, wasPruned);
  const keep = new Uint8Array(scores.length).fill(1);
  for (let c = 0; c < z && c < order.length; c++) keep[order[c] as number] = 0;
  return keep;
}

function resolveLayerSparsity(value: LayerSparsity | undefined, main: PruningSchedule, t: Target, argument: string): PruningSchedule | null {
  if (value === undefined) return main;
  if (value === null) return null;
  if (isPruningSchedule(value)) return value;
  const size = t.variable.size;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value >= 1 && (!Number.isInteger(value) || value >= size))) {
    throw invalidArgument(argument, value, `a sparsity in [0, 1), a count of weights (an integer in [1, ${size}) for "${t.name}"), a PruningSchedule or null`);
  }
  return retarget(main, value < 1 ? value : value / size);
}

/**
 * Builds a {@link GradualPruningHook}.
 *
 * @param target - a model (its conv / dense kernels, as {@link prunableParams}), ParamRefs or variables
 * @param schedule - {@link constantSparsity} or {@link polynomialDecay}
 * @param options - {@link GradualPruningOptions}: scope, per-layer `sparsity`, `exclude`, starting `masks`, `nm`, `name`
 * @returns a hook; the HookedOptimizer it is given to disposes it
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a bad schedule, scope, per-layer value (outside [0, 1) and not a
 *   count) or per-layer targets with `global` scope; `UNKNOWN_VARIABLE` for an unknown layer name in `sparsity` or
 *   `exclude`, or a mask in `masks` that names no target; `SHAPE_MISMATCH`
 * @example
 * ```ts
 * const schedule = polynomialDecay({ initialSparsity: 0, finalSparsity: 0.8, beginStep: 0, endStep: 100, frequency: 10 });
 * model.compile({ optimizer: withHooks(tf.train.adam(1e-3), gradualPruningHook(model, schedule)), loss: 'meanSquaredError' });
 * ```
 */
export function gradualPruningHook(target: ParamsArg, schedule: PruningSchedule, options: GradualPruningOptions = {}): GradualPruningHook {
  if (!isPruningSchedule(schedule)) throw invalidArgument('schedule', schedule, 'a PruningSchedule (constantSparsity or polynomialDecay)');
  if (typeof options !== 'object' || options === null) throw invalidArgument('options', options, 'an object');
  const scope = options.scope ?? 'layer';
  if (scope !== 'layer' && scope !== 'global') throw invalidArgument('scope', scope, '"layer" or "global"');
  const name = options.name ?? 'gradual-prune';
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument('name', name, 'a non-empty string');
  const per = options.sparsity;
  if (per !== undefined && typeof per !== 'function' && (typeof per !== 'object' || per === null)) {
    throw invalidArgument('sparsity', per, 'a map from layer name to a sparsity, count or schedule, or a function');
  }
  if (per !== undefined && scope === 'global') throw invalidArgument('sparsity', per, 'absent with scope "global" (one ranking, one schedule)');
  const targets = targetsOf('target', target);
  const matches = (t: Target, key: string): boolean => t.layerName === key || t.name === key;

  const excluded = new Set<string>();
  for (const x of options.exclude ?? []) {
    if (x instanceof RegExp) {
      for (const t of targets) if (x.test(t.layerName) || x.test(t.name)) excluded.add(t.name);
      continue;
    }
    if (typeof x !== 'string') throw invalidArgument('exclude', x, 'layer or variable names and RegExps');
    const hit = targets.filter((t) => matches(t, x));
    if (hit.length === 0) throw new TrainkitError('UNKNOWN_VARIABLE', `exclude names "${x}", which is neither a layer nor a variable of target.`, 'exclude');
    for (const t of hit) excluded.add(t.name);
  }
  if (per !== undefined && typeof per === 'object') {
    for (const key of Object.keys(per)) {
      if (!targets.some((t) => matches(t, key))) {
        throw new TrainkitError('UNKNOWN_VARIABLE', `sparsity has an entry for layer "${key}", which is neither a layer nor a variable of target (${[...new Set(targets.map((t) => t.layerName))].join(', ')}).`, 'sparsity');
      }
    }
  }
  if (options.nm !== undefined) checkNm(options.nm, targets.filter((t) => !excluded.has(t.name)));
  const floors = options.masks;
  if (floors !== undefined) {
    if (!(floors instanceof Map)) throw invalidArgument('masks', floors, 'Masks (a Map from variable name to tensor)');
    for (const [k, m] of floors) {
      const t = targets.find((x) => x.name === k);
      if (!t) throw new TrainkitError('UNKNOWN_VARIABLE', `masks has "${k}", which is not a variable of target.`, 'masks');
      checkShape('masks', k, m, t.variable.shape);
    }
  }
  const variables: GradualPruningSpec['variables'] = [];
  for (const t of targets) {
    if (excluded.has(t.name)) continue;
    let value: LayerSparsity | undefined;
    if (typeof per === 'function') value = per(t.layerName, t.name);
    else if (per !== undefined) value = per[t.name] !== undefined ? per[t.name] : per[t.layerName];
    const s = resolveLayerSparsity(value, schedule, t, `sparsity["${t.layerName}"]`);
    if (s === null) continue;
    const floor = floors?.get(t.name);
    variables.push({ name: t.name, shape: [...t.variable.shape], schedule: s, ...(floor ? { floor } : {}) });
  }
  if (floors !== undefined) for (const v of variables) v.floor ??= 'ones';
  if (variables.length === 0) throw invalidArgument('target', target, 'at least one tensor left to prune after exclusions');
  return new GradualPruningHook({ name, scope, schedule, variables, nm: options.nm ? { ...options.nm } : null });
}

/**
 * One call for the common case: `withHooks(inner, gradualPruningHook(target, schedule, options))`.
 *
 * @param inner - any tf.Optimizer (owned by the result)
 * @returns a {@link HookedOptimizer}; the caller disposes it (which disposes the hook)
 * @throws {@link TrainkitError} as {@link gradualPruningHook}
 * @example `model.compile({ optimizer: gradualPruning(tf.train.sgd(0.1), model, constantSparsity({ sparsity: 0.5 })), loss })`
 */
export function gradualPruning(inner: Optimizer, target: ParamsArg, schedule: PruningSchedule, options?: GradualPruningOptions): HookedOptimizer {
  const hook = gradualPruningHook(target, schedule, options);
  try {
    return new HookedOptimizer(inner, [hook]);
  } catch (err) {
    hook.dispose();
    throw err;
  }
}
