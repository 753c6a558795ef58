import * as tf from '@tensorflow/tfjs-core';
import {
  TrainkitError,
  assertLive,
  canReadSync,
  checkNumber,
  isTensorLike,
  sameShape,
  invalidArgument,
  isParamRef,
  isVariable,
  toVariables,
  type LayersModelLike,
  type NamedTensor,
  type ParamsArg,
  type StepContext,
  type StepHook,
} from '@trainkit/core';
import { analyseFinalHomogeneous } from './internal/topology';
import { projectToTangent, retractToNorm, weightNorms, type Granularity } from './norms';

/** Arguments of {@link lawnHook} and {@link lawn}. */
export interface LawnArgs {
  /**
   * The tensors whose norms LAWN freezes (the set C). A `tf.LayersModel` selects its final homogeneous sub-network
   * (the kernels after the last normalisation layer; see `finalHomogeneousParams` in `@trainkit/lawn/layers`).
   */
  readonly params: ParamsArg;
  /** Optimizer steps of the free phase (E_free × steps per epoch); 0 = constrained from the first step. */
  readonly freeSteps: number;
  /** `'layer'`: one norm per tensor; `'unit'`: one per output unit (last axis). @defaultValue 'layer' */
  readonly granularity?: Granularity;
  /** Project gradients of C onto the tangent space before the inner optimizer sees them. @defaultValue true */
  readonly projectGradient?: boolean;
  /** Norms below eps are treated as zero (such tensors/units stay unconstrained). @defaultValue 1e-12 */
  readonly eps?: number;
  /** The hook's name inside its optimizer. @defaultValue 'lawn' */
  readonly name?: string;
}

/** The validated scalar options of a {@link LawnHook}. */
interface LawnOptions {
  name: string;
  freeSteps: number;
  granularity: Granularity;
  projectGradient: boolean;
  eps: number;
}

/**
 * JSON config of a {@link LawnHook} (`getConfig()`). `params` holds the variable names at save time as `{ name }`
 * objects: tfjs-layers camel-cases every string in a saved training config that contains "_" (so "dense_1/kernel"
 * would come back as "dense1/kernel"), except values under a `name` key.
 */
export interface LawnConfig extends tf.serialization.ConfigDict {
  name: string;
  params: Array<{ name: string }>;
  freeSteps: number;
  granularity: Granularity;
  projectGradient: boolean;
  eps: number;
}

/** The frozen norm(s) of one constrained variable. */
export interface FrozenNorm {
  /** The variable's name. */
  readonly name: string;
  /** One value for `'layer'` granularity, one per output unit for `'unit'`. */
  readonly norms: number[];
}

/** Where LAWN is: free training, or norms frozen. */
export type LawnPhase = 'free' | 'constrained';

/**
 * The LAWN step hook: free phase for `freeSteps` steps, then norms frozen, gradients projected, weights retracted.
 * Build it with {@link lawnHook}; compose it with other hooks through `withHooks` from `@trainkit/core`.
 *
 * @remarks arXiv 2108.05839 (Gupta et al., "Logit Attenuating Weight Normalization"); algorithm as in spec §2.4.
 */
export class LawnHook implements StepHook {
  /** @internal */
  static get className(): string {
    return 'LawnHook';
  }
  /** The registered class name, so `HookedOptimizer.fromConfig` can rebuild the hook. */
  readonly className = 'LawnHook';
  /** The hook's name inside its optimizer (prefixes its weights). @defaultValue 'lawn' */
  readonly name: string;
  /** Steps of the free phase (T_free). */
  readonly freeSteps: number;
  /** One norm per tensor (`'layer'`) or per output unit (`'unit'`). */
  readonly granularity: Granularity;
  /** Whether gradients of the constrained set are projected onto the tangent space. */
  readonly projectGradient: boolean;
  /** Norms below this are treated as zero (left unconstrained). */
  readonly eps: number;
  private names: string[];
  private vars: tf.Variable[] | null;
  private state: { switchedAt: tf.Variable; norms: tf.Variable[] } | null = null;
  private switched = false;
  private switchedAtStep = -1;
  private disposed = false;

  /**
   * @internal use {@link lawnHook}, which validates its arguments.
   */
  constructor(cfg: LawnOptions & { paramNames: string[]; variables: tf.Variable[] | null }) {
    this.name = cfg.name;
    this.freeSteps = cfg.freeSteps;
    this.granularity = cfg.granularity;
    this.projectGradient = cfg.projectGradient;
    this.eps = cfg.eps;
    this.names = [...cfg.paramNames];
    this.vars = cfg.variables;
    if (this.vars) this.makeState(this.vars.map((v) => this.normShape(v.shape)));
  }

  /** Names of the constrained variables (gradient-map keys); a rebuilt hook reports the names it bound to. */
  get paramNames(): readonly string[] {
    return this.names;
  }

  /** 'free' until the norms are frozen, then 'constrained'. */
  get phase(): LawnPhase {
    return this.switched ? 'constrained' : 'free';
  }

  /** The step count after which the norms were frozen, or null while free. */
  get switchStep(): number | null {
    if (!this.switched || !this.state) return null;
    return this.switchedAtStep;
  }

  /**
   * The constrained variables. A hook rebuilt from a config binds at its first step; before that this looks the saved
   * names up in the engine (without binding).
   */
  variables(): tf.Variable[] {
    if (this.vars) return [...this.vars];
    const reg = tf.engine().registeredVariables;
    return this.names.map((n) => {
      const v = reg[n];
      if (!v) throw new TrainkitError('UNKNOWN_VARIABLE', `LAWN param "${n}" is not a live variable yet (a rebuilt hook binds at its first step).`, 'params');
      return v;
    });
  }

  /**
   * The norms frozen at the switch, per constrained variable; empty while free.
   *
   * @returns plain numbers (reads the state synchronously; call it outside the training step)
   */
  frozenNorms(): FrozenNorm[] {
    if (!this.switched || !this.state) return [];
    return this.state.norms.map((v, i) => ({ name: this.paramNames[i]!, norms: Array.from(v.dataSync()) }));
  }

  /**
   * Freezes the norms now, whatever `freeSteps` says (e.g. from an epoch-end callback). No-op once constrained.
   *
   * @param stepsDone - the optimizer's step count, recorded as the switch step
   */
  beginConstrainedPhase(stepsDone: number): void {
    this.checkAlive();
    checkNumber('stepsDone', stepsDone, { integer: true, min: 0 });
    if (!this.switched) tf.tidy(() => this.freeze(stepsDone));
  }

  /** @internal called by HookedOptimizer before the inner step */
  transformGradients(grads: tf.NamedTensorMap, ctx: StepContext): tf.NamedTensorMap {
    this.checkAlive();
    const vars = this.bind(grads, ctx.step);
    for (const name of this.paramNames) {
      if (grads[name] == null) {
        throw new TrainkitError(
          'UNKNOWN_VARIABLE',
          `LAWN param "${name}" received no gradient at step ${ctx.step}: it is not among the variables this optimizer trains (not in the model, or not trainable). Pass params of the model being trained; received gradients for: ${Object.keys(grads).slice(0, 8).join(', ')}${Object.keys(grads).length > 8 ? ', …' : ''}.`,
          'params',
        );
      }
    }
    if (!this.switched && ctx.step > this.freeSteps) this.freeze(ctx.step - 1);
    if (!this.switched || !this.projectGradient) return grads;
    const out: tf.NamedTensorMap = { ...grads };
    vars.forEach((v, i) => {
      out[v.name] = projectToTangent(grads[v.name]!, v, this.granularity, this.state!.norms[i]!, this.eps);
    });
    return out;
  }

  /** @internal called by HookedOptimizer after the inner step */
  afterApply(ctx: StepContext): void {
    this.checkAlive();
    const vars = this.bind();
    if (this.switched) {
      vars.forEach((v, i) => v.assign(retractToNorm(v, this.state!.norms[i]!, this.granularity, this.eps)));
    } else if (ctx.step >= this.freeSteps) {
      this.freeze(ctx.step);
    }
  }

  /** `switchedAt` (−1 while free), then `norm_0 … norm_{K−1}` in `paramNames` order; live variables. */
  getWeights(): NamedTensor[] {
    this.checkAlive();
    if (!this.state) return [];
    return [
      { name: 'switchedAt', tensor: this.state.switchedAt },
      ...this.state.norms.map((t, i) => ({ name: `norm_${i}`, tensor: t })),
    ];
  }

  /**
   * Restores {@link LawnHook.getWeights}'s output (values are copied).
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` when names, count or shapes differ
   */
  setWeights(weights: NamedTensor[]): void {
    this.checkWeights(weights);
    if (!this.state) this.makeState(weights.slice(1).map((w) => w.tensor.shape)); // unbound: bind at the first step
    const st = this.state!;
    const targets = [st.switchedAt, ...st.norms];
    const at = weights[0]!.tensor.dataSync()[0] as number; // HookedOptimizer.setWeights reads hook state back first
    tf.tidy(() => weights.forEach((w, i) => targets[i]!.assign(tf.cast(w.tensor, 'float32'))));
    this.switched = at >= 0;
    this.switchedAtStep = at;
  }

  /**
   * Throws what {@link LawnHook.setWeights} would throw, without writing.
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` when names, count, shapes or values (negative or non-finite norms)
   *   differ from this hook's; `DISPOSED` for a disposed tensor or hook
   */
  checkWeights(weights: NamedTensor[]): void {
    this.checkAlive();
    if (!Array.isArray(weights) || weights.some((w) => typeof w !== 'object' || w === null || !isTensorLike(w.tensor))) {
      throw invalidArgument('weightValues', weights, 'an array of {name, tensor}');
    }
    weights.forEach((w) => assertLive(w.tensor, `weightValues["${w.name}"]`));
    const count = this.state ? this.state.norms.length : weights.length - 1;
    const expected = ['switchedAt', ...Array.from({ length: Math.max(count, 0) }, (_, i) => `norm_${i}`)];
    const got = weights.map((w) => w.name);
    if (got.length !== expected.length || got.some((n, i) => n !== expected[i])) {
      throw new TrainkitError('STATE_MISMATCH', `LAWN state must be [${expected.join(', ')}]; received [${got.join(', ')}].`, 'weightValues');
    }
    weights.forEach((w, i) => {
      const want = this.state ? [this.state.switchedAt, ...this.state.norms][i]!.shape : i === 0 ? [] : null;
      const fits = want ? sameShape(w.tensor.shape, want) : w.tensor.rank <= 1;
      if (!fits) {
        throw new TrainkitError('STATE_MISMATCH', `LAWN state "${w.name}" has shape [${w.tensor.shape.join(',')}]; expected [${(want ?? ['units']).join(',')}] (same params and granularity?).`, 'weightValues');
      }
      const vals = Array.from(w.tensor.dataSync() as ArrayLike<number>);
      const ok = i === 0 ? Number.isInteger(vals[0]) && (vals[0] as number) >= -1 : vals.every((x) => Number.isFinite(x) && x >= 0);
      if (!ok) {
        throw new TrainkitError('STATE_MISMATCH', `LAWN state "${w.name}" holds ${vals.slice(0, 4).join(', ')}; expected ${i === 0 ? 'an integer >= -1' : 'finite norms >= 0'}.`, 'weightValues');
      }
    });
  }

  /** JSON config; {@link LawnHook.fromConfig} rebinds the variables by name. */
  getConfig(): LawnConfig {
    return {
      name: this.name,
      params: this.paramNames.map((n) => ({ name: n })),
      freeSteps: this.freeSteps,
      granularity: this.granularity,
      projectGradient: this.projectGradient,
      eps: this.eps,
    };
  }

  /**
   * Rebuilds a hook from {@link LawnHook.getConfig}; the variables are looked up by name in the tfjs engine at the
   * first step (so load the model first).
   */
  static fromConfig<T extends tf.serialization.Serializable>(
    _cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const c = config as unknown as LawnConfig;
    const list = c.params as unknown;
    const names = Array.isArray(list) ? list.map((p) => (p as { name?: unknown } | null)?.name) : [];
    if (names.length === 0 || names.some((n) => typeof n !== 'string')) {
      throw invalidArgument('config.params', list, 'a non-empty array of { name: <variable name> }');
    }
    const hook = new LawnHook({ ...checkOptions(c as unknown as LawnArgs), paramNames: names as string[], variables: null });
    return hook as unknown as T;
  }

  /** Frees the hook's state; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.state) tf.dispose([this.state.switchedAt, ...this.state.norms]);
    this.state = null;
  }

  private freeze(stepsDone: number): void {
    const vars = this.bind();
    const st = this.state!;
    // Measure everything first: a norm that overflowed float32 (Σw² above ~3.4e38) would turn every weight into NaN at
    // the first retraction, so it is an error, and nothing is frozen.
    const norms = vars.map((v) => weightNorms(v, this.granularity));
    // Where dataSync() does not work (webgpu) the checks run on an asynchronous read and can only warn.
    const sync = canReadSync();
    const values = sync ? norms.map((n) => Array.from(n.dataSync() as ArrayLike<number>)) : null;
    if (values) {
      const bad = this.nonFiniteNorm(values);
      if (bad) throw new TrainkitError('INVALID_ARGUMENT', `${bad} Nothing was frozen.`, 'params');
    }
    norms.forEach((n, i) => st.norms[i]!.assign(n));
    st.switchedAt.assign(tf.scalar(stepsDone));
    this.switched = true;
    this.switchedAtStep = stepsDone;
    if (values) this.warnDegenerate(values);
    else {
      void Promise.all(st.norms.map((n) => n.data())).then((all) => {
        const vals = all.map((d) => Array.from(d as ArrayLike<number>));
        const bad = this.nonFiniteNorm(vals);
        if (bad) console.warn(`[@trainkit/lawn] ${bad} The weights will turn to NaN.`);
        this.warnDegenerate(vals);
      }, () => {});
    }
  }

  private nonFiniteNorm(values: number[][]): string | null {
    for (const [i, vals] of values.entries()) {
      const badNorm = vals.find((x) => !Number.isFinite(x));
      if (badNorm !== undefined) {
        return `LAWN cannot freeze the norm of "${this.paramNames[i]}": it is ${badNorm} (NaN/Inf weights, or weights so large that the sum of squares overflows float32).`;
      }
    }
    return null;
  }

  private warnDegenerate(values: number[][]): void {
    const degenerate: string[] = [];
    values.forEach((vals, i) => {
      const small = vals.filter((x) => !(x >= this.eps)).length;
      if (small > 0) degenerate.push(this.granularity === 'layer' ? this.paramNames[i]! : `${this.paramNames[i]} (${small} of ${vals.length} units)`);
    });
    if (degenerate.length > 0) {
      console.warn(`[@trainkit/lawn] norm below eps=${this.eps} at the switch, left unconstrained: ${degenerate.join(', ')}.`);
    }
  }

  /**
   * The constrained variables. A hook rebuilt from a config knows only the saved names: at its first step it binds to
   * the gradient key with that name, or (a model loaded beside a live copy, which tfjs renames `name_1`, `name_2`, …)
   * to the one key that equals the name up to such a suffix. Elsewhere it looks the names up in the engine.
   */
  private bind(grads?: tf.NamedTensorMap, step?: number): tf.Variable[] {
    if (this.vars) return this.vars;
    if (grads === undefined) {
      throw new TrainkitError('STATE_MISMATCH', 'this LawnHook was rebuilt from a config and binds to its variables at its first step; take a step first.');
    }
    const reg = tf.engine().registeredVariables;
    const resolved = this.names.map((n) => {
      if (grads[n] != null) return n;
      const base = n.replace(/_\d+$/, '');
      const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(_\\d+)?$`);
      const hits = Object.keys(grads).filter((k) => re.test(k) && grads[k] != null);
      return hits.length === 1 ? hits[0] : undefined;
    });
    const missing = this.names.filter((_, i) => resolved[i] === undefined || !reg[resolved[i]!]);
    if (missing.length > 0) {
      throw new TrainkitError(
        'UNKNOWN_VARIABLE',
        `LAWN params saved as ${missing.map((n) => `"${n}"`).join(', ')} match no variable trained at step ${step} (or several renamed copies); load the model before training, or build the optimizer with lawn(inner, { params }) and restore its state with setWeights.`,
        'params',
      );
    }
    const vars = resolved.map((n) => reg[n!]!);
    const shapes = vars.map((v) => this.normShape(v.shape));
    if (this.state) {
      this.state.norms.forEach((t, i) => {
        if (t.shape.join(',') !== shapes[i]!.join(',')) {
          throw new TrainkitError('STATE_MISMATCH', `restored LAWN norm_${i} has shape [${t.shape.join(',')}], but "${vars[i]!.name}" needs [${shapes[i]!.join(',')}].`, 'weightValues');
        }
      });
    } else {
      this.makeState(shapes);
    }
    this.names = vars.map((v) => v.name);
    this.vars = vars;
    return vars;
  }

  private normShape(shape: readonly number[]): number[] {
    return this.granularity === 'layer' || shape.length === 0 ? [] : [shape[shape.length - 1]!];
  }

  private makeState(shapes: number[][]): void {
    const make = (shape: number[], value: number): tf.Variable => tf.keep(tf.tidy(() => tf.variable(tf.fill(shape, value), false)));
    this.state = { switchedAt: make([], -1), norms: shapes.map((sh) => make(sh, 0)) };
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', 'this LawnHook was disposed.');
  }
}

function checkOptions(args: LawnArgs): LawnOptions {
  if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object { params, freeSteps, … }');
  const freeSteps = checkNumber('freeSteps', args.freeSteps, { integer: true, min: 0 });
  const granularity = args.granularity ?? 'layer';
  if (granularity !== 'layer' && granularity !== 'unit') throw invalidArgument('granularity', granularity, "'layer' or 'unit'");
  const projectGradient = args.projectGradient ?? true;
  if (typeof projectGradient !== 'boolean') throw invalidArgument('projectGradient', projectGradient, 'a boolean');
  const eps = args.eps ?? 1e-12;
  checkNumber('eps', eps, { minExclusive: 0, max: 1e-3 });
  const name = args.name ?? 'lawn';
  if (typeof name !== 'string' || name.length === 0 || name.includes('/')) throw invalidArgument('name', name, 'a non-empty string without "/"');
  return { name, freeSteps, granularity, projectGradient, eps };
}

function resolveParams(params: ParamsArg): tf.Variable[] {
  if (params && !Array.isArray(params) && Array.isArray((params as LayersModelLike).layers)) {
    const refs = analyseFinalHomogeneous(params as LayersModelLike).params;
    if (refs.length === 0) throw invalidArgument('params', params, 'a model whose final homogeneous sub-network has at least one kernel');
    refs.forEach((r) => {
      assertLive(r.variable, `params ("${r.name}")`);
      if (!r.trainable || !r.variable.trainable) {
        throw invalidArgument(`params ("${r.name}")`, r.variable, 'a model whose constrained kernels are trainable (LAWN would constrain nothing: they get no gradient)');
      }
    });
    return refs.map((r) => r.variable);
  }
  const vars = toVariables('params', params);
  vars.forEach((v, i) => {
    const given = (params as ReadonlyArray<unknown>)[i];
    const label = isParamRef(given) ? `params[${i}] ("${given.name}")` : `params[${i}] ("${v.name}")`;
    if (!v.trainable) throw invalidArgument(label, v, 'a trainable variable (moving statistics and frozen weights get no gradient)');
    if (v.dtype !== 'float32') throw invalidArgument(label, v, 'a float32 variable');
    if (v.isDisposed) throw invalidArgument(label, v, 'a live (not disposed) variable');
  });
  return vars;
}

/**
 * Builds the LAWN step hook (for `withHooks(inner, lawnHook(args), …)`).
 *
 * @param args - {@link LawnArgs}
 * @returns a {@link LawnHook}; the optimizer it is given to disposes it
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for a negative or fractional `freeSteps`, empty or duplicate
 *   `params`, a non-trainable or non-float variable, a bad `granularity`/`eps`; `UNSUPPORTED_MODEL` when `params`
 *   is a model whose final homogeneous sub-network cannot be found
 * @example
 * ```ts
 * const opt = withHooks(tf.train.adam(1e-3), lawnHook({ params: model, freeSteps: 5 * stepsPerEpoch }));
 * ```
 * @remarks arXiv 2108.05839. Free phase: the inner optimizer runs untouched. At the switch c_k = ‖W_k‖. Then each
 * step: g_k ← g_k − (⟨g_k, W_k⟩/‖W_k‖²) W_k, inner step, W_k ← c_k W_k / ‖W_k‖.
 */
export function lawnHook(args: LawnArgs): LawnHook {
  const opts = checkOptions(args);
  if (args.params === undefined || args.params === null) throw invalidArgument('params', args.params, 'an array of tf.Variable or ParamRef, or a tf.LayersModel');
  const vars = resolveParams(args.params);
  if (!vars.every(isVariable)) throw invalidArgument('params', args.params, 'tf.Variables');
  return new LawnHook({ ...opts, paramNames: vars.map((v) => v.name), variables: vars });
}
