import { add, clone, engine, keep, mul, scalar, sub, tensor, tidy, variable, zeros, type NamedTensorMap, type Optimizer, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import {
  HookedOptimizer,
  TrainkitError,
  assertLive,
  canReadSync,
  checkBoolean,
  checkHookName,
  checkNumber,
  disposeOnThrow,
  gradientOf,
  isTensorLike,
  sameShape,
  invalidArgument,
  isParamRef,
  isVariable,
  paramsOf,
  type LayersModelLike,
  type NamedTensor,
  type ParamRef,
  type StepHook,
} from '@trainkit/core';
import { blockView, toBlockShape, type BlockArgs, type BlockShape } from './blocks';
import { checkRatios, projectValues, type LayerPlan, type UnifyPlan } from './projection';

/** Arguments of {@link admmUnify} / {@link admmUnifyHook}. */
export interface AdmmUnifyArgs extends BlockArgs {
  /** Kernels to constrain: variables, ParamRefs, or a model (then {@link unifiableParams} picks them). */
  params: readonly (Variable | ParamRef)[] | LayersModelLike;
  /** `r_p`, per layer. @defaultValue 0.5 [RECON] */
  pruneRatio?: number;
  /** `r_u`, per layer. @defaultValue 0.4 [RECON] */
  unifyRatio?: number;
  /** Initial penalty `ρ_0`. @defaultValue 1e-3 [RECON: this group's ADMM code] */
  rho?: number;
  /** `γ`: ρ ← min(γ·ρ, ρ_max) after every Z/U update. @defaultValue 2 [RECON] */
  rhoGrowth?: number;
  /** `ρ_max`. @defaultValue 1 [RECON] */
  rhoMax?: number;
  /** Steps between Z/U updates (the paper's E epochs, in steps). @defaultValue 100 [RECON] */
  updateEvery?: number;
  /**
   * Rescale the scaled dual when ρ changes, `U ← U·ρ_old/ρ_new` (Boyd et al. 2011, §3.4.1: U = Λ/ρ keeps the same
   * Λ). This group's public ADMM code does not. @defaultValue false
   */
  rescaleDual?: boolean;
  /** Hook name. @defaultValue 'admm-unify' */
  name?: string;
}

/** One Z/U update's residuals (summed over layers in quadrature). */
export interface AdmmResidual {
  /** The step after which the update ran. */
  step: number;
  /** ρ used for the W-steps before this update. */
  rho: number;
  /** Primal residual ‖W − Z‖ after the Z-update. */
  primal: number;
  /** Dual residual ρ‖Z − Z_prev‖. */
  dual: number;
}

/**
 * The kernels a model's unification acts on by default: conv2d and dense kernels, except the first layer and the
 * classifier (spec §1: skip the first conv and the classifier; depthwise kernels are never listed).
 *
 * @param model - a tf.LayersModel
 * @param opts - `skipFirst`, `skipLast` (both @defaultValue true)
 * @returns ParamRefs in layer order (the model owns the variables)
 */
export function unifiableParams(model: LayersModelLike, opts: { skipFirst?: boolean; skipLast?: boolean } = {}): ParamRef[] {
  const refs = paramsOf(model, { roles: ['kernel'], kinds: ['conv2d', 'dense'], trainable: true });
  const start = (opts.skipFirst ?? true) ? 1 : 0;
  const end = (opts.skipLast ?? true) ? refs.length - 1 : refs.length;
  return refs.slice(start, Math.max(start, end));
}

interface Constrained {
  w: Variable;
  z: Variable;
  u: Variable;
}

/**
 * ADMM for "each kernel ∈ S" (spec §4): adds `ρ(W − Z + U)` to the gradients, and every `updateEvery` steps sets
 * `Z ← Π_S(W + U)`, `U ← U + W − Z`, `ρ ← min(γρ, ρ_max)`. {@link AdmmUnifyHook.hardProject} ends ADMM.
 *
 * @remarks Scaled augmented Lagrangian `f(W) + Σ_l ρ/2 ‖W_l − Z_l + U_l‖²`; Π_S is {@link unifyProjection} (exact).
 * Z and U are non-trainable variables `${kernel}/unify_Z`, `${kernel}/unify_U`; ρ is one for all layers.
 * The Z-update reads the weights synchronously (the block selection runs in JS), once per `updateEvery` steps.
 */
export class AdmmUnifyHook implements StepHook {
  /** @internal */
  static get className(): string {
    return 'AdmmUnifyHook';
  }
  readonly className = 'AdmmUnifyHook';
  readonly name: string;
  readonly blockShape: BlockShape;
  readonly pruneRatio: number;
  readonly unifyRatio: number;
  readonly rho0: number;
  readonly rhoGrowth: number;
  readonly rhoMax: number;
  readonly updateEvery: number;
  readonly rescaleDual: boolean;
  /** Residuals logged at every Z/U update. */
  readonly residuals: AdmmResidual[] = [];
  private readonly layers: Constrained[];
  private readonly rhoVar: Variable;
  private rhoValue: number;
  private finished = false;
  private disposed = false;
  /** A Z/U update due after `step` whose W, U, Z are being read back (backends without sync readback). */
  private pending: { step: number; w: Tensor[]; done: Promise<void>; ready: boolean; error?: unknown } | null = null;

  /**
   * @param args - {@link AdmmUnifyArgs}
   * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad ratios, ρ, γ, `updateEvery`, a kernel with no complete
   * block, a non-variable or non-float32 param, a name containing "/", a non-boolean `rescaleDual`; `DISPOSED` for a
   * disposed kernel. A failed call allocates nothing.
   */
  constructor(args: AdmmUnifyArgs) {
    if (!args || typeof args !== 'object') throw invalidArgument('args', args, 'an object with params');
    this.name = checkHookName('name', args.name ?? 'admm-unify');
    this.blockShape = toBlockShape(args);
    this.pruneRatio = args.pruneRatio ?? 0.5;
    this.unifyRatio = args.unifyRatio ?? 0.4;
    checkRatios(this.pruneRatio, this.unifyRatio);
    this.rho0 = checkNumber('rho', args.rho ?? 1e-3, { minExclusive: 0 });
    this.rhoGrowth = checkNumber('rhoGrowth', args.rhoGrowth ?? 2, { min: 1 });
    this.rhoMax = checkNumber('rhoMax', args.rhoMax ?? 1, { min: this.rho0 });
    this.updateEvery = checkNumber('updateEvery', args.updateEvery ?? 100, { integer: true, min: 1 });
    this.rescaleDual = checkBoolean('rescaleDual', args.rescaleDual, false);
    const vars = resolveKernels(args.params);
    for (const w of vars) {
      const view = blockView(w.shape, { blockSize: this.blockShape });
      if (view.numBlocks === 0 && this.pruneRatio + this.unifyRatio > 0) {
        throw invalidArgument('blockSize', this.blockShape, `a block that fits kernel "${w.name}" of shape [${w.shape.join(',')}] (canonical [O,I,K] = [${view.dims.join(',')}]); leave that kernel out of params`);
      }
    }
    for (const w of vars) {
      if (engineVariable(`${w.name}/unify_Z`) || engineVariable(`${w.name}/unify_U`)) {
        throw invalidArgument('params', w.name, 'kernels no other live AdmmUnifyHook constrains (dispose it first)');
      }
    }
    // Project every kernel first (this throws on NaN/Inf weights), then allocate: a failed constructor leaks nothing.
    const initial = vars.map((w) => this.project(w.dataSync() as Float32Array, w).weights);
    this.rhoValue = this.rho0;
    const made = disposeOnThrow((own) => ({
      rho: own(tidy(() => variable(scalar(this.rho0), false))),
      layers: vars.map((w, i) => ({
        w,
        z: own(tidy(() => variable(tensor(initial[i]!, w.shape), false, `${w.name}/unify_Z`))),
        u: own(tidy(() => variable(zeros(w.shape), false, `${w.name}/unify_U`))),
      })),
    }));
    this.rhoVar = made.rho;
    this.layers = made.layers;
  }

  /** Current ρ. */
  get rho(): number {
    return this.rhoValue;
  }

  /** True once {@link AdmmUnifyHook.hardProject} ran (the penalty is off from then on). */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Adds `ρ(W − Z + U)` to each constrained kernel's gradient (until `hardProject`). */
  transformGradients(grads: NamedTensorMap): NamedTensorMap {
    this.checkAlive();
    this.applyPending();
    if (this.finished) return grads;
    const out: NamedTensorMap = { ...grads };
    for (const l of this.layers) {
      const g = gradientOf(grads, l.w.name, l.w.shape);
      if (!g) {
        throw new TrainkitError(
          'UNKNOWN_VARIABLE',
          `ADMM kernel "${l.w.name}" received no gradient: the optimizer does not train it (not in the model, not trainable, or not in varList), so its penalty would never apply.`,
          'params',
        );
      }
      out[l.w.name] = add(g, mul(this.rhoVar, add(sub(l.w, l.z), l.u)));
    }
    return out;
  }

  /** Runs {@link AdmmUnifyHook.zuStep} every `updateEvery` steps. */
  afterApply(ctx: { step: number }): void {
    this.checkAlive();
    if (this.finished || ctx.step % this.updateEvery !== 0) return;
    if (canReadSync()) this.zuStep(ctx.step);
    else this.deferZuStep(ctx.step);
  }

  /**
   * Where `dataSync()` does not work (webgpu), a due Z/U update reads W, U and Z back asynchronously and
   * runs at the start of the next step (or at {@link AdmmUnifyHook.settle}) on the W of the step it was due after:
   * the same result as running it at once.
   */
  private deferZuStep(step: number): void {
    const w = this.layers.map((l) => keep(clone(l.w)));
    const reads = [...w, ...this.layers.flatMap((l) => [l.u, l.z])].map((t) => t.data());
    const p: NonNullable<AdmmUnifyHook['pending']> = { step, w, ready: false, done: Promise.resolve() };
    p.done = Promise.all(reads).then(
      () => {
        p.ready = true;
      },
      (err: unknown) => {
        p.ready = true;
        p.error = err;
      },
    );
    this.pending = p;
  }

  /** Runs the deferred Z/U update once its values are on the host; throws when a step comes before that. */
  private applyPending(): void {
    const p = this.pending;
    if (!p) return;
    let ws: Float32Array[];
    try {
      if (p.error !== undefined) throw p.error;
      ws = p.w.map((t) => t.dataSync() as Float32Array); // the read-back cached them (or the backend reads synchronously)
      for (const l of this.layers) {
        l.u.dataSync();
        l.z.dataSync();
      }
    } catch (err) {
      if (p.ready) {
        this.dropPending();
        throw err;
      }
      throw new TrainkitError(
        'STATE_MISMATCH',
        `the ADMM Z/U update due after step ${p.step} is still being read back from the GPU: on a backend without synchronous readback (webgpu), await between steps (e.g. \`await loss.data()\`) or call \`await hook.settle()\`.`,
        'step',
      );
    }
    this.dropPending();
    this.zuStepOn(p.step, ws);
  }

  private dropPending(): void {
    if (this.pending) for (const t of this.pending.w) t.dispose();
    this.pending = null;
  }

  /**
   * Waits for a deferred Z/U update (see {@link AdmmUnifyHook.afterApply}) and applies it, then reads W, U and Z back
   * so that {@link AdmmUnifyHook.zuStep} and {@link AdmmUnifyHook.hardProject} can run next. Needed only where
   * `dataSync()` does not work (webgpu); elsewhere it returns at once.
   *
   * @returns when the hook's state is on the host
   */
  async settle(): Promise<void> {
    this.checkAlive();
    if (this.pending) {
      await this.pending.done;
      this.applyPending();
    }
    await Promise.all(this.layers.flatMap((l) => [l.w, l.u, l.z]).map((t) => t.data()));
  }

  /**
   * One ADMM Z/U update now: `Z ← Π_S(W + U)`, `U ← U + W − Z`, then `ρ ← min(γρ, ρ_max)`; logs the residuals.
   *
   * @param step - recorded in {@link AdmmUnifyHook.residuals}
   * @returns this update's residuals
   */
  zuStep(step = 0): AdmmResidual {
    this.checkAlive();
    checkNumber('step', step, { integer: true, min: 0 });
    this.applyPending();
    return this.zuStepOn(step, this.layers.map((l) => l.w.dataSync() as Float32Array));
  }

  private zuStepOn(step: number, ws: Float32Array[]): AdmmResidual {
    let primal = 0;
    let dual = 0;
    const updates: Array<{ l: Constrained; z: Float32Array; u: Float32Array }> = [];
    for (const [k, l] of this.layers.entries()) {
      const w = ws[k]!;
      const u = l.u.dataSync() as Float32Array;
      const zPrev = l.z.dataSync() as Float32Array;
      const v = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) v[i] = w[i]! + u[i]!;
      const { weights: z } = this.project(v, l.w);
      const uNew = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const r = Math.fround(w[i]! - z[i]!);
        uNew[i] = u[i]! + r;
        primal += r * r;
        const dz = z[i]! - zPrev[i]!;
        dual += dz * dz;
      }
      updates.push({ l, z, u: uNew });
    }
    // Every layer projected (a NaN weight throws above): now write them all.
    tidy(() => {
      for (const { l, z, u } of updates) {
        l.z.assign(tensor(z, l.w.shape));
        l.u.assign(tensor(u, l.w.shape));
      }
    });
    const out: AdmmResidual = { step, rho: this.rhoValue, primal: Math.sqrt(primal), dual: this.rhoValue * Math.sqrt(dual) };
    this.residuals.push(out);
    const next = Math.min(this.rhoValue * this.rhoGrowth, this.rhoMax);
    if (this.rescaleDual && next !== this.rhoValue) {
      const f = this.rhoValue / next;
      tidy(() => {
        const factor = scalar(f);
        for (const l of this.layers) l.u.assign(mul(l.u, factor));
      });
    }
    this.setRho(next);
    return out;
  }

  /**
   * Ends ADMM: `W ← Π_S(W)` with a fresh exact selection, then the penalty is switched off.
   *
   * @returns the final {@link UnifyPlan} (plain JS), for {@link unifiedHook}, `compressionStats` and `encodeUnified`
   */
  hardProject(): UnifyPlan {
    this.checkAlive();
    this.applyPending();
    const projected = this.layers.map((l) => this.project(l.w.dataSync() as Float32Array, l.w));
    tidy(() => this.layers.forEach((l, i) => l.w.assign(tensor(projected[i]!.weights, l.w.shape))));
    const plans: LayerPlan[] = projected.map((p) => p.plan);
    this.finished = true;
    return { layers: plans };
  }

  /** The constrained kernels. */
  get variables(): Variable[] {
    return this.layers.map((l) => l.w);
  }

  /** `rho`, then each kernel's Z and U (live variables: HookedOptimizer copies them). */
  getWeights(): NamedTensor[] {
    this.checkAlive();
    if (this.pending?.ready) this.applyPending();
    const out: NamedTensor[] = [{ name: 'rho', tensor: this.rhoVar }];
    for (const l of this.layers) out.push({ name: `${l.w.name}/Z`, tensor: l.z }, { name: `${l.w.name}/U`, tensor: l.u });
    return out;
  }

  /**
   * Restores {@link AdmmUnifyHook.getWeights}' output (values are copied); everything is checked before the first write.
   *
   * @throws {@link TrainkitError} as {@link AdmmUnifyHook.checkWeights}
   */
  setWeights(weights: NamedTensor[]): void {
    const byName = this.checkWeights(weights);
    const rho = (byName.get('rho') as Tensor).dataSync()[0] as number;
    tidy(() => {
      for (const l of this.layers) {
        l.z.assign(byName.get(`${l.w.name}/Z`) as Tensor);
        l.u.assign(byName.get(`${l.w.name}/U`) as Tensor);
      }
    });
    this.setRho(rho);
  }

  /**
   * Throws what {@link AdmmUnifyHook.setWeights} would throw, without writing.
   *
   * @returns the entries by name
   * @throws {@link TrainkitError} `STATE_MISMATCH` for a missing, unknown or misshapen entry, a non-float32 tensor or a
   *   ρ that is not a finite number > 0; `DISPOSED` for a disposed tensor or hook
   */
  checkWeights(weights: NamedTensor[]): Map<string, Tensor> {
    this.checkAlive();
    const bad = (msg: string): TrainkitError => new TrainkitError('STATE_MISMATCH', `AdmmUnifyHook state ${msg}`, 'weights');
    if (!Array.isArray(weights)) throw invalidArgument('weights', weights, 'an array of {name, tensor}');
    const want = new Map<string, readonly number[]>([['rho', []]]);
    for (const l of this.layers) {
      want.set(`${l.w.name}/Z`, l.w.shape);
      want.set(`${l.w.name}/U`, l.w.shape);
    }
    const byName = new Map<string, Tensor>();
    for (const w of weights) {
      const shape = want.get(w?.name);
      if (!shape || byName.has(w.name)) throw bad(`has an unknown or repeated entry "${w?.name}".`);
      if (!isTensorLike(w.tensor)) throw bad(`"${w.name}" is ${typeof w.tensor}, not a tensor.`);
      assertLive(w.tensor, `weights["${w.name}"]`);
      if (!sameShape(w.tensor.shape, shape) || w.tensor.dtype !== 'float32') {
        throw bad(`"${w.name}" must be float32[${shape.join(',')}]; received ${w.tensor.dtype}[${w.tensor.shape.join(',')}].`);
      }
      byName.set(w.name, w.tensor);
    }
    const missing = [...want.keys()].filter((n) => !byName.has(n));
    if (missing.length > 0) throw bad(`lacks ${missing.map((n) => `"${n}"`).join(', ')}.`);
    const rho = (byName.get('rho') as Tensor).dataSync()[0] as number;
    if (!(Number.isFinite(rho) && rho > 0)) throw bad(`"rho" must be a finite number > 0; received ${rho}.`);
    return byName;
  }

  /** JSON config; `fromConfig` finds the kernels by name among the live variables. */
  getConfig(): { [key: string]: string | number | boolean | number[] | string[] } {
    return {
      name: this.name,
      params: this.layers.map((l) => l.w.name),
      blockSize: [...this.blockShape],
      pruneRatio: this.pruneRatio,
      unifyRatio: this.unifyRatio,
      rho: this.rho0,
      rhoGrowth: this.rhoGrowth,
      rhoMax: this.rhoMax,
      updateEvery: this.updateEvery,
      rescaleDual: this.rescaleDual,
    };
  }

  /** Rebuilds a hook from {@link AdmmUnifyHook.getConfig} (kernels looked up in the tfjs engine by name). */
  static fromConfig(_cls: unknown, config: Record<string, unknown>): AdmmUnifyHook {
    const names = config['params'];
    if (!Array.isArray(names)) throw invalidArgument('config.params', names, 'an array of variable names');
    const vars = names.map((n: unknown) => {
      const v = typeof n === 'string' ? engineVariable(n) : undefined;
      if (!v) throw new TrainkitError('UNKNOWN_VARIABLE', `AdmmUnifyHook config names variable ${JSON.stringify(n)}, which is not live.`, 'config.params');
      return v;
    });
    return new AdmmUnifyHook({ ...(config as unknown as AdmmUnifyArgs), blockSize: config['blockSize'] as unknown as BlockShape, rescaleDual: config['rescaleDual'] === true, params: vars });
  }

  /** Frees Z, U and ρ; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.dropPending();
    this.rhoVar.dispose();
    this.residuals.length = 0;
    for (const l of this.layers) {
      l.z.dispose();
      l.u.dispose();
    }
  }

  private setRho(rho: number): void {
    this.rhoValue = rho;
    tidy(() => this.rhoVar.assign(scalar(rho)));
  }

  private project(values: Float32Array, w: Variable): { weights: Float32Array; plan: LayerPlan } {
    return projectValues(values, w.shape, { blockSize: this.blockShape, pruneRatio: this.pruneRatio, unifyRatio: this.unifyRatio, name: w.name });
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', 'this AdmmUnifyHook was disposed.');
  }
}

function engineVariable(name: string): Variable | undefined {
  return engine().registeredVariables[name];
}

function resolveKernels(params: AdmmUnifyArgs['params']): Variable[] {
  let vars: Variable[];
  if (Array.isArray(params)) {
    vars = (params as readonly (Variable | ParamRef)[]).map((p, i) => {
      const v = isParamRef(p) ? p.variable : p;
      if (!isVariable(v)) throw invalidArgument(`params[${i}]`, p, 'a tf.Variable or a ParamRef');
      return v;
    });
    vars.forEach((v, i) => assertLive(v, `params[${i}]`));
  } else if (params && Array.isArray((params as LayersModelLike).layers)) {
    vars = unifiableParams(params as LayersModelLike).map((p) => p.variable);
  } else {
    throw invalidArgument('params', params, 'an array of kernels (tf.Variable / ParamRef) or a tf.LayersModel');
  }
  if (vars.length === 0) throw invalidArgument('params', params, 'at least one kernel (a model needs 3+ conv/dense layers: the first and last are skipped)');
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    assertLive(v, `params[${i}]`);
    if (v.dtype !== 'float32') throw invalidArgument(`params[${i}] ("${v.name}")`, v.dtype, 'a float32 kernel');
    if (seen.has(v.name)) throw invalidArgument(`params[${i}]`, v.name, 'a kernel listed once');
    seen.add(v.name);
  });
  return vars;
}

/**
 * A {@link AdmmUnifyHook} for composing with other hooks: `withHooks(inner, admmUnifyHook(args), …)`.
 *
 * @param args - {@link AdmmUnifyArgs}
 * @returns the hook; the optimizer holding it disposes it
 * @throws {@link TrainkitError} as the constructor
 */
export function admmUnifyHook(args: AdmmUnifyArgs): AdmmUnifyHook {
  return new AdmmUnifyHook(args);
}

function hookFor(inner: Optimizer, args: AdmmUnifyArgs): AdmmUnifyHook {
  // Check the inner optimizer before the hook allocates Z and U, so a bad call leaks nothing.
  if (!inner || typeof (inner as Optimizer).applyGradients !== 'function') throw invalidArgument('inner', inner, 'a tf.Optimizer instance');
  return new AdmmUnifyHook(args);
}

/** A HookedOptimizer with one {@link AdmmUnifyHook}; `hardProject()` ends ADMM and returns the plan. */
export class AdmmUnifyOptimizer extends HookedOptimizer {
  /**
   * @param inner - any tf.Optimizer (owned)
   * @param args - {@link AdmmUnifyArgs}
   */
  constructor(inner: Optimizer, args: AdmmUnifyArgs) {
    super(inner, [hookFor(inner, args)]);
  }
  /** The ADMM hook. */
  get admm(): AdmmUnifyHook {
    return this.hooks[0] as AdmmUnifyHook;
  }
  /** See {@link AdmmUnifyHook.hardProject}. */
  hardProject(): UnifyPlan {
    return this.admm.hardProject();
  }
  /** See {@link AdmmUnifyHook.residuals}. */
  get residuals(): readonly AdmmResidual[] {
    return this.admm.residuals;
  }
}

/**
 * Wraps `inner` with ADMM prune + unify training (spec §4).
 *
 * @param inner - any tf.Optimizer (the result owns it)
 * @param args - {@link AdmmUnifyArgs}
 * @returns an {@link AdmmUnifyOptimizer}; the caller disposes it (that frees Z, U and the inner optimizer)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad ratios, ρ, γ, `updateEvery` or params
 * @remarks `L_ρ = f(W) + Σ_l ρ/2 ‖W_l − Z_l + U_l‖²` (spec §4, steps a–d). After training, call `hardProject()`,
 * then fine-tune with `withHooks(inner2, unifiedHook(plan))`.
 * @example
 * ```ts
 * const opt = admmUnify(tf.train.adam(1e-3), { params: model, pruneRatio: 0.5, unifyRatio: 0.4, updateEvery: 200 });
 * // train …, then: const plan = opt.hardProject();
 * ```
 */
export function admmUnify(inner: Optimizer, args: AdmmUnifyArgs): AdmmUnifyOptimizer {
  return new AdmmUnifyOptimizer(inner, args);
}
