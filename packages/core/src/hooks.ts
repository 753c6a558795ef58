import { readBack } from './readback';
import {
  Optimizer,
  Variable,
  clone,
  dispose,
  type Scalar,
  serialization,
  tidy,
  type NamedTensorMap,
  type Tensor,
} from '@tensorflow/tfjs-core';
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
   */
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    this.checkAlive();
    const ctx: StepContext = { step: this.iterations + 1 };
    tidy(() => {
      let grads: NamedTensorMap = Array.isArray(variableGradients)
        ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor]))
        : { ...variableGradients };
      for (const h of this.hooks) {
        if (h.transformGradients) grads = h.transformGradients(grads, ctx);
      }
      this.inner.applyGradients(grads);
      for (const h of this.hooks) h.afterApply?.(ctx);
    });
    this.incrementIterations();
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
   * Restores what {@link HookedOptimizer.getWeights} returned (values are copied).
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` when a hook's state is missing or belongs to no hook
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    this.checkAlive();
    const [first, ...rest] = weightValues;
    if (first === undefined || first.name !== 'iter') {
      throw new TrainkitError('STATE_MISMATCH', `weights must start with the "iter" entry from HookedOptimizer.getWeights(); received ${first?.name ?? 'nothing'}.`, 'weightValues');
    }
    const byHook = new Map<string, NamedTensor[]>();
    const inner: NamedTensor[] = [];
    for (const w of rest) {
      if (w.name.startsWith(INNER)) {
        inner.push({ name: w.name.slice(INNER.length), tensor: w.tensor });
      } else if (w.name.startsWith(HOOK)) {
        const tail = w.name.slice(HOOK.length);
        const slash = tail.indexOf('/');
        const hookName = tail.slice(0, slash);
        if (!this.hooks.some((h) => h.name === hookName && h.setWeights)) {
          throw new TrainkitError('STATE_MISMATCH', `weight "${w.name}" belongs to no hook of this optimizer that accepts state; hooks: ${this.hooks.map((h) => h.name).join(', ') || 'none'}.`, 'weightValues');
        }
        const list = byHook.get(hookName) ?? [];
        list.push({ name: tail.slice(slash + 1), tensor: w.tensor });
        byHook.set(hookName, list);
      } else {
        throw new TrainkitError('STATE_MISMATCH', `weight "${w.name}" is neither "inner/…" nor "hook/…".`, 'weightValues');
      }
    }
    for (const h of this.hooks) {
      if (h.getWeights && h.getWeights().length > 0 && !byHook.has(h.name)) {
        throw new TrainkitError('STATE_MISMATCH', `no saved state for hook "${h.name}".`, 'weightValues');
      }
    }
    this.iterations_ = (await first.tensor.data())[0] as number;
    // Hooks restore synchronously: read their state back first, so dataSync() works where it otherwise would not (webgpu in Node).
    await readBack([...byHook.values()].flatMap((ws) => ws.map((w) => w.tensor)));
    await this.inner.setWeights(inner);
    for (const h of this.hooks) {
      const w = byHook.get(h.name);
      if (w) h.setWeights?.(w);
    }
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
  const name = config['innerClassName'];
  const entry = typeof name === 'string' ? serialization.SerializationMap.getMap().classNameMap[name] : undefined;
  if (!entry) {
    throw new TrainkitError('NOT_SERIALIZABLE', `innerClassName ${JSON.stringify(name)} is not registered with tfjs serialization (the built-in optimizers are).`, 'innerClassName');
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, (config['innerConfig'] ?? {}) as serialization.ConfigDict) as unknown as Optimizer;
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
