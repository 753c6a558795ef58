import { readBack } from './readback';
import {
  Optimizer,
  Variable,
  clone,
  dispose,
  engine,
  scalar,
  type Scalar,
  serialization,
  tidy,
  type NamedTensorMap,
  type Tensor,
} from '@tensorflow/tfjs-core';
import { assertLive, isTensorLike, sameShape } from './checks';
import { TrainkitError, invalidArgument } from './errors';

/** What a hook learns about the step being applied. */
export interface StepContext {
  /** 1-based index of the step being applied (the optimizer's iterations + 1). */
  readonly step: number;
}

/**
 * Code that runs around an optimizer step. All methods are optional; they run in the order the hooks were given,
 * inside one `tf.tidy`, so intermediates are freed. State that must outlive a step lives in `tf.Variable`s (updated
 * with `assign`) created by the hook.
 */
export interface StepHook {
  /** Unique within one optimizer; prefixes the hook's weights in `getWeights()`. */
  readonly name: string;
  /** A class name registered with `serialization.registerClass`, so `HookedOptimizer.fromConfig` can rebuild it. */
  readonly className?: string;
  /** Returns the gradients to give the inner optimizer (same keys). Runs before it. */
  transformGradients?(grads: NamedTensorMap, ctx: StepContext): NamedTensorMap;
  /** Runs after the inner optimizer updated the variables. */
  afterApply?(ctx: StepContext): void;
  /** The hook's state, for checkpoints (live tensors: the caller must not dispose them). */
  getWeights?(): NamedTensor[];
  /** Restores state from {@link StepHook.getWeights}'s output (copies values; keeps no reference). */
  setWeights?(weights: NamedTensor[]): void;
  /**
   * Throws (a {@link TrainkitError}) when `setWeights(weights)` would fail, and changes nothing.
   * `HookedOptimizer.setWeights` calls it for every hook before writing any state.
   */
  checkWeights?(weights: NamedTensor[]): void;
  /** JSON-only config. */
  getConfig?(): serialization.ConfigDict;
  /** Frees the hook's tensors; idempotent. */
  dispose?(): void;
}

/** A named tensor, as tf.Optimizer.getWeights returns (tfjs-core does not export this type). */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

const INNER = 'inner/';
/** Slot variables per trained variable that each tfjs optimizer's setWeights expects (RMSProp: 2, or 3 when centered). */
const SLOTS_PER_VARIABLE: Record<string, number> = { SGD: 0, Momentum: 1, Adagrad: 1, Adadelta: 2, Adam: 2 };
const HOOK = 'hook/';

/**
 * Wraps any tf.Optimizer and runs {@link StepHook}s around each step.
 *
 * @remarks With no hooks it updates variables exactly as the inner optimizer does (same calls, same order).
 * Works with `model.compile({optimizer})` + `fit` and with `optimizer.minimize` loops.
 */
export class HookedOptimizer extends Optimizer {
  /** @internal */
  static get className(): string {
    return 'HookedOptimizer';
  }
  /** The wrapped optimizer; do not step it directly. */
  readonly inner: Optimizer;
  /** Hooks in the order they run. */
  readonly hooks: readonly StepHook[];
  private disposed = false;

  /**
   * @param inner - any tf.Optimizer (owned from now on: `dispose()` disposes it)
   * @param hooks - hooks with unique names
   * @throws {@link TrainkitError} when `inner` is not an optimizer or hook names repeat
   */
  constructor(inner: Optimizer, hooks: readonly StepHook[] = []) {
    super();
    if (!isOptimizer(inner)) throw invalidArgument('inner', inner, 'a tf.Optimizer instance');
    const names = new Set<string>();
    for (const [i, h] of hooks.entries()) {
      if (typeof h !== 'object' || h === null || typeof h.name !== 'string' || h.name.length === 0) {
        throw invalidArgument(`hooks[${i}]`, h, 'a StepHook with a non-empty name');
      }
      if (h.name.includes('/')) throw invalidArgument(`hooks[${i}].name`, h.name, 'a name without "/"');
      if (names.has(h.name)) throw invalidArgument(`hooks[${i}].name`, h.name, 'a name unique among the hooks');
      names.add(h.name);
    }
    this.inner = inner;
    this.hooks = [...hooks];
  }

  /** The hook with this name, if any. */
  hook<H extends StepHook = StepHook>(name: string): H | undefined {
    return this.hooks.find((h) => h.name === name) as H | undefined;
  }

  /**
   * Runs the hooks' `transformGradients`, the inner optimizer, then the hooks' `afterApply`, in one tidy.
   *
   * @param variableGradients - a map or array of gradients (the caller keeps ownership)
   * @remarks When a `transformGradients` throws, nothing has moved and `iterations` stays. When an `afterApply`
   *   throws, the inner step has already moved the weights: `iterations` advances (it matches the inner optimizer's
   *   count), the hooks after the failing one skip this step, and the error is rethrown.
   */
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    this.checkAlive();
    checkGradients(variableGradients);
    const ctx: StepContext = { step: this.iterations + 1 };
    let applied = false;
    try {
      tidy(() => {
        let grads: NamedTensorMap = Array.isArray(variableGradients)
          ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor]))
          : { ...variableGradients };
        for (const h of this.hooks) {
          if (h.transformGradients) grads = h.transformGradients(grads, ctx);
        }
        this.inner.applyGradients(grads);
        applied = true;
        for (const h of this.hooks) h.afterApply?.(ctx);
      });
    } finally {
      // Once the inner optimizer has moved the weights the step counts, even if a later afterApply threw.
      if (applied) this.incrementIterations();
    }
  }

  /**
   * Same as tf.Optimizer.minimize, but frees the gradients and the cost when a hook or the inner optimizer throws.
   *
   * @returns the cost when `returnCost` (the caller disposes it), else null
   */
  override minimize(f: () => Scalar, returnCost = false, varList?: Variable[]): Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    try {
      this.applyGradients(grads);
    } catch (err) {
      value.dispose();
      throw err;
    } finally {
      dispose(Object.values(grads));
    }
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /**
   * Own step count, then the inner optimizer's weights under `inner/`, then each hook's under `hook/<name>/`.
   *
   * @returns new tensors (copies of live state): the caller disposes all of them
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.checkAlive();
    const out: NamedTensor[] = [await this.saveIterations()];
    for (const w of await this.inner.getWeights()) out.push({ name: INNER + w.name, tensor: owned(w.tensor) });
    for (const h of this.hooks) {
      for (const w of h.getWeights?.() ?? []) out.push({ name: `${HOOK}${h.name}/${w.name}`, tensor: owned(w.tensor) });
    }
    return out;
  }

  /**
   * Restores what {@link HookedOptimizer.getWeights} returned (values are copied). All or nothing: every entry and every
   * hook's state is checked before anything is written, and the inner optimizer's replaced state is freed.
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` when a hook's state is missing, belongs to no hook, or does not fit
   *   (names, shapes, the inner optimizer's slot count); `DISPOSED` for a disposed tensor; nothing changes then
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.checkAlive();
    const mismatch = (msg: string): TrainkitError => new TrainkitError('STATE_MISMATCH', msg, 'weightValues');
    if (!Array.isArray(weightValues)) throw invalidArgument('weightValues', weightValues, 'the array HookedOptimizer.getWeights() returned');
    weightValues.forEach((w, i) => {
      if (typeof w !== 'object' || w === null || typeof w.name !== 'string' || !isTensorLike(w.tensor)) {
        throw invalidArgument(`weightValues[${i}]`, w, 'a {name, tensor} entry');
      }
      assertLive(w.tensor, `weightValues[${i}] ("${w.name}")`);
    });
    const [first, ...rest] = weightValues;
    if (first === undefined || first.name !== 'iter' || first.tensor.size !== 1) {
      throw mismatch(`weights must start with the scalar "iter" entry from HookedOptimizer.getWeights(); received ${first?.name ?? 'nothing'}.`);
    }
    const iterations = (await first.tensor.data())[0] as number;
    if (!Number.isInteger(iterations) || iterations < 0) throw mismatch(`"iter" must hold an integer >= 0; received ${iterations}.`);
    const byHook = new Map<string, NamedTensor[]>();
    const inner: NamedTensor[] = [];
    for (const w of rest) {
      if (w.name.startsWith(INNER)) {
        inner.push({ name: w.name.slice(INNER.length), tensor: w.tensor });
      } else if (w.name.startsWith(HOOK)) {
        const tail = w.name.slice(HOOK.length);
        const slash = tail.indexOf('/');
        const hookName = slash < 0 ? tail : tail.slice(0, slash);
        if (slash < 0 || !this.hooks.some((h) => h.name === hookName && h.setWeights)) {
          throw mismatch(`weight "${w.name}" belongs to no hook of this optimizer that accepts state; hooks: ${this.hooks.map((h) => h.name).join(', ') || 'none'}.`);
        }
        const list = byHook.get(hookName) ?? [];
        list.push({ name: tail.slice(slash + 1), tensor: w.tensor });
        byHook.set(hookName, list);
      } else {
        throw mismatch(`weight "${w.name}" is neither "inner/…" nor "hook/…".`);
      }
    }
    this.checkInnerState(inner);
    // Hooks check and restore synchronously: read their state back first, so dataSync() works where it otherwise
    // would not (webgpu).
    await readBack([...byHook.values()].flatMap((ws) => ws.map((w) => w.tensor)));
    for (const h of this.hooks) {
      const current = h.getWeights?.() ?? [];
      const given = byHook.get(h.name);
      if (current.length > 0 && !given) throw mismatch(`no saved state for hook "${h.name}".`);
      if (!given) continue;
      // A hook's own check knows its matching rules (e.g. state saved from a renamed model); else names must agree.
      if (h.checkWeights) h.checkWeights(given);
      else if (current.length > 0) checkSameState(h.name, current, given);
    }
    // Everything fits: write. Hooks first (each can be rolled back from a copy), then the inner optimizer.
    const backups: Array<[StepHook, NamedTensor[]]> = [];
    const old = await this.innerState();
    let innerTouched = false;
    try {
      for (const h of this.hooks) {
        const w = byHook.get(h.name);
        if (!w || !h.setWeights) continue;
        backups.push([h, (h.getWeights?.() ?? []).map((b) => ({ name: b.name, tensor: clone(b.tensor) }))]);
        h.setWeights(w);
      }
      innerTouched = true;
      await this.inner.setWeights(inner);
    } catch (err) {
      for (const [h, b] of backups.reverse()) {
        try {
          if (b.length > 0) h.setWeights?.(b);
        } catch {
          // keep rolling back the others; the first error is what the caller sees
        }
      }
      if (innerTouched && old.restorable) {
        const iter = scalar(old.iterations, 'int32');
        try {
          await this.inner.setWeights([{ name: 'iter', tensor: iter }, ...old.slots]);
        } finally {
          iter.dispose();
        }
      }
      throw err;
    } finally {
      for (const [, b] of backups) dispose(b.map((x) => x.tensor));
      // tf.Optimizer.setWeights makes new slot variables and forgets the old ones: free them.
      if (innerTouched) {
        const now = new Set((await this.innerState()).slots.map((w) => w.tensor));
        dispose(old.slots.map((w) => w.tensor).filter((t) => !now.has(t) && !t.isDisposed));
      }
    }
    this.iterations_ = iterations;
  }

  /** The inner optimizer's step count and live slot variables. */
  private async innerState(): Promise<{ iterations: number; slots: NamedTensor[]; restorable: boolean }> {
    let ws: NamedTensor[];
    try {
      ws = await this.inner.getWeights();
    } catch {
      return { iterations: 0, slots: [], restorable: false }; // e.g. Adamax implements no getWeights
    }
    const [iter, ...slots] = ws;
    const iterations = iter ? ((await iter.tensor.data())[0] as number) : 0;
    if (iter && !(iter.tensor instanceof Variable)) iter.tensor.dispose();
    return { iterations, slots, restorable: true };
  }

  /** Checks the inner optimizer's part of the state against the slots its class keeps per variable. */
  private checkInnerState(inner: NamedTensor[]): void {
    const mismatch = (msg: string): TrainkitError => new TrainkitError('STATE_MISMATCH', msg, 'weightValues');
    const [iter, ...slots] = inner;
    if (iter === undefined || iter.name !== 'iter' || iter.tensor.size !== 1) {
      throw mismatch(`the "inner/…" entries must start with the inner optimizer's scalar "inner/iter"; received ${iter ? `"inner/${iter.name}"` : 'none'}.`);
    }
    const cls = this.inner.getClassName();
    const perVariable =
      cls === 'RMSProp' ? ((this.inner as unknown as { centered?: boolean }).centered ? 3 : 2) : (SLOTS_PER_VARIABLE[cls] ?? null);
    if (perVariable === 0 && slots.length > 0) throw mismatch(`the inner ${cls} keeps no state, but ${slots.length} "inner/…" entries were given.`);
    if (perVariable !== null && perVariable > 0 && slots.length % perVariable !== 0) {
      throw mismatch(`the inner ${cls} keeps ${perVariable} slot(s) per variable, but ${slots.length} "inner/…" entries were given.`);
    }
    slots.forEach((w) => {
      if (w.tensor.dtype !== 'float32') throw mismatch(`inner state "inner/${w.name}" has dtype ${w.tensor.dtype}; expected float32.`);
    });
  }

  /** `{innerClassName, innerConfig, hooks: [{name, className, config}]}`; JSON only. */
  getConfig(): serialization.ConfigDict {
    return {
      innerClassName: this.inner.getClassName(),
      innerConfig: this.inner.getConfig(),
      hooks: this.hooks.map((h) => ({ name: h.name, className: h.className ?? null, config: h.getConfig?.() ?? {} })),
    };
  }

  /**
   * Rebuilds the optimizer; the inner optimizer and every hook must be registered with `serialization.registerClass`.
   *
   * @throws {@link TrainkitError} `NOT_SERIALIZABLE` naming the unregistered class or hook
   */
  static fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    const inner = optimizerFromConfig(config);
    const hooks: StepHook[] = [];
    try {
      for (const h of (config['hooks'] ?? []) as serialization.ConfigDict[]) hooks.push(hookFromConfig(h));
      return new (cls as unknown as new (o: Optimizer, h: StepHook[]) => T)(inner, hooks);
    } catch (err) {
      inner.dispose();
      for (const h of hooks) h.dispose?.();
      throw err;
    }
  }

  /** Disposes the inner optimizer and every hook; idempotent. */
  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inner.dispose();
    // tfjs' Momentum.dispose forgets the learning-rate scalar of its SGD base (tfjs#4647).
    const c = (this.inner as unknown as { c?: Tensor }).c;
    if (this.inner.getClassName() === 'Momentum' && c && !c.isDisposed) c.dispose();
    for (const h of this.hooks) h.dispose?.();
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', `this ${this.getClassName()} was disposed.`);
  }
}

/**
 * Wraps `inner` so that `hooks` run around each of its steps.
 *
 * @param inner - any tf.Optimizer (the result owns it)
 * @param hooks - {@link StepHook}s, run in order
 * @returns a {@link HookedOptimizer}; the caller disposes it
 * @example
 * ```ts
 * const opt = withHooks(tf.train.adam(1e-3), myHook);
 * model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
 * ```
 */
export function withHooks(inner: Optimizer, ...hooks: StepHook[]): HookedOptimizer {
  return new HookedOptimizer(inner, hooks);
}

/**
 * Registers `HookedOptimizer` for model save/load. Idempotent; call before `tf.loadLayersModel`.
 */
export function registerCoreSerializables(): void {
  serialization.registerClass(HookedOptimizer);
}

/**
 * Rebuilds the inner optimizer named by `config.innerClassName` / `config.innerConfig` through tfjs' SerializationMap;
 * for wrapper optimizers' `fromConfig`.
 *
 * @param config - a config with `innerClassName` and `innerConfig`
 * @returns a new optimizer the caller owns
 * @throws {@link TrainkitError} `NOT_SERIALIZABLE` when the class is not registered
 */
export function optimizerFromConfig(config: serialization.ConfigDict): Optimizer {
  if (typeof config !== 'object' || config === null) throw invalidArgument('config', config, 'an object {innerClassName, innerConfig}');
  const innerConfig = config['innerConfig'] ?? {};
  if (typeof innerConfig !== 'object' || innerConfig === null || Array.isArray(innerConfig)) {
    throw invalidArgument('innerConfig', innerConfig, 'the inner optimizer\'s config object');
  }
  const name = config['innerClassName'];
  const entry = typeof name === 'string' ? serialization.SerializationMap.getMap().classNameMap[name] : undefined;
  if (!entry) {
    throw new TrainkitError('NOT_SERIALIZABLE', `innerClassName ${JSON.stringify(name)} is not registered with tfjs serialization (the built-in optimizers are).`, 'innerClassName');
  }
  const [cls, fromConfig] = entry;
  const inner = fromConfig(cls, innerConfig as serialization.ConfigDict) as unknown as Optimizer;
  if (!isOptimizer(inner)) throw invalidArgument('innerClassName', name, 'the class name of a tf.Optimizer');
  return inner;
}

function hookFromConfig(h: serialization.ConfigDict): StepHook {
  const className = h['className'];
  const entry = typeof className === 'string' ? serialization.SerializationMap.getMap().classNameMap[className] : undefined;
  if (!entry) {
    throw new TrainkitError('NOT_SERIALIZABLE', `hook ${JSON.stringify(h['name'])} has className ${JSON.stringify(className)}, which is not registered; call the method's register…Serializables() first.`, 'hooks');
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, (h['config'] ?? {}) as serialization.ConfigDict) as unknown as StepHook;
}

/** Gradients must be live tensors (or null) keyed by live variables of the same shape. */
function checkGradients(grads: NamedTensorMap | NamedTensor[]): void {
  if (typeof grads !== 'object' || grads === null) throw invalidArgument('variableGradients', grads, 'a map (or list) of gradients by variable name');
  const entries: Array<[unknown, unknown]> = Array.isArray(grads)
    ? grads.map((g: unknown) => [(g as NamedTensor | null)?.name, (g as NamedTensor | null)?.tensor])
    : Object.entries(grads);
  const registered = engine().registeredVariables;
  for (const [name, g] of entries) {
    if (g === null || g === undefined) continue;
    const label = `variableGradients["${String(name)}"]`;
    if (!isTensorLike(g)) throw invalidArgument(label, g, 'a tf.Tensor (or null)');
    assertLive(g, label);
    const v = typeof name === 'string' ? registered[name] : undefined;
    if (!v) throw new TrainkitError('UNKNOWN_VARIABLE', `${label} names no live tf.Variable.`, 'variableGradients');
    if (!sameShape(v.shape, g.shape)) {
      throw new TrainkitError('SHAPE_MISMATCH', `${label} has shape [${g.shape.join(',')}], but the variable has [${v.shape.join(',')}].`, 'variableGradients');
    }
  }
}

/** Throws STATE_MISMATCH unless `given` has exactly the names and shapes of the hook's current state. */
function checkSameState(hook: string, current: readonly NamedTensor[], given: readonly NamedTensor[]): void {
  const want = new Map(current.map((w) => [w.name, w.tensor.shape]));
  const seen = new Set<string>();
  for (const w of given) {
    const shape = want.get(w.name);
    if (!shape || seen.has(w.name)) {
      throw new TrainkitError('STATE_MISMATCH', `hook "${hook}" has no state entry "${w.name}"${seen.has(w.name) ? ' (given twice)' : ''}; it expects ${[...want.keys()].map((n) => `"${n}"`).join(', ')}.`, 'weightValues');
    }
    if (!sameShape(shape, w.tensor.shape)) {
      throw new TrainkitError('STATE_MISMATCH', `hook "${hook}" state "${w.name}" has shape [${w.tensor.shape.join(',')}]; expected [${shape.join(',')}].`, 'weightValues');
    }
    seen.add(w.name);
  }
  const missing = [...want.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) throw new TrainkitError('STATE_MISMATCH', `hook "${hook}" state lacks ${missing.map((n) => `"${n}"`).join(', ')}.`, 'weightValues');
}

/** A variable is live state and gets copied; any other tensor was made for the caller already. */
function owned(t: Tensor): Tensor {
  return t instanceof Variable ? clone(t) : t;
}

function isOptimizer(value: unknown): value is Optimizer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Optimizer).applyGradients === 'function' &&
    typeof (value as Optimizer).getWeights === 'function'
  );
}

/**
 * Applies `fn` to every non-null gradient; a helper for hooks' `transformGradients`.
 *
 * @param grads - the gradient map (not modified)
 * @param fn - returns the new gradient of one variable
 * @returns a new map with the same keys
 */
export function mapGradients(grads: NamedTensorMap, fn: (name: string, g: Tensor) => Tensor): NamedTensorMap {
  const out: NamedTensorMap = {};
  for (const [name, g] of Object.entries(grads)) out[name] = g === null || g === undefined ? g : fn(name, g);
  return out;
}
