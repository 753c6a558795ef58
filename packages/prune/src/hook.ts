import {
  Variable,
  cast,
  ones,
  serialization,
  tidy,
  variable,
  type NamedTensorMap,
  type Tensor,
} from '@tensorflow/tfjs-core';
import { TrainkitError, checkHookName, invalidArgument, type NamedTensor, type StepContext, type StepHook } from '@trainkit/core';
import { checkShape, checkTensorMap, maskedValue } from './internal/params';
import { WeightBinding } from './binding';
import type { Masks } from './mask';
import type { ParamsArg } from '@trainkit/core';
import { GradualPruningHook } from './gradual';

/** JSON config of a {@link MaskHook}: the masked variables and their shapes (the 0/1 values travel as weights). */
export interface MaskHookConfig extends serialization.ConfigDict {
  name: string;
  variables: Array<{ name: string; shape: number[] }>;
}

/**
 * A {@link StepHook} that keeps pruned weights at exactly zero: it multiplies each masked gradient by its mask before
 * the inner optimizer and re-applies the masks to the variables after every step.
 *
 * @remarks Masking only the gradient is not enough: momentum or Adam state from a dense phase keeps moving pruned
 * weights (and decoupled weight decay would too); re-masking after the step is what makes the guarantee. Put this hook
 * last in `withHooks(inner, ...hooks, maskHook(masks))` so that no later hook moves a pruned weight.
 */
export class MaskHook implements StepHook {
  /** @internal */
  static get className(): string {
    return 'PruneMaskHook';
  }
  readonly className = 'PruneMaskHook';
  readonly name: string;
  /** The hook's own copies of the masks (non-trainable variables, kept in sync by setWeights). */
  private readonly masks = new Map<string, Variable>();
  /** Which live variable each mask applies to (follows a model saved and loaded again: see {@link MaskHook.bind}). */
  private readonly binding: WeightBinding;
  private disposed = false;

  /**
   * @param masks - {@link Masks}; the hook copies them, so the caller may dispose its own
   * @param name - hook name (unique among an optimizer's hooks)
   * @defaultValue name 'prune'
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a mask names no live variable; `SHAPE_MISMATCH`; `DISPOSED`
   *   for a disposed mask; `INVALID_ARGUMENT` for a value other than 0/1 or a bad name (a failed call allocates nothing)
   */
  constructor(masks: Masks, name = 'prune') {
    if (!(masks instanceof Map)) throw invalidArgument('masks', masks, 'Masks (a Map from variable name to tensor)');
    this.name = checkHookName('name', name);
    checkTensorMap('masks', masks, null, { binary: true });
    this.binding = new WeightBinding([...masks].map(([n, m]) => ({ name: n, shape: m.shape })));
    for (const [vName, m] of masks) checkShape('masks', vName, m, this.binding.variable(vName, 'masks').shape);
    // Everything is checked: allocate (a variable() failure still frees the copies made so far).
    try {
      for (const [vName, m] of masks) this.masks.set(vName, tidy(() => variable(cast(m, 'float32'), false)));
    } catch (err) {
      for (const m of this.masks.values()) m.dispose();
      this.masks.clear();
      throw err;
    }
  }

  /** The masked variable names, in order. */
  get variableNames(): string[] {
    return [...this.masks.keys()];
  }

  /** Zeroes the gradients of pruned weights. */
  transformGradients(grads: NamedTensorMap, _ctx: StepContext): NamedTensorMap {
    this.checkAlive();
    this.binding.followGradients(grads);
    return this.binding.maskGradients(grads, this.masks);
  }

  /** Re-applies every mask to its variable. */
  afterApply(_ctx: StepContext): void {
    this.checkAlive();
    this.apply();
  }

  /** Re-applies every mask now (also useful right after building the optimizer, before the first step). */
  apply(): void {
    this.checkAlive();
    tidy(() => {
      for (const [vName, m] of this.masks) {
        const v = this.binding.variable(vName, 'masks');
        v.assign(maskedValue(v, m));
      }
    });
  }

  /**
   * Points the masks at the variables of `params` with the same layer and weight names, e.g. a model loaded again
   * (tfjs names its variables `layer/kernel_1` when the original is still alive). Training also re-binds on its own:
   * at each step a mask whose variable gets no gradient follows the one trained variable of the same name and shape.
   *
   * @param params - a model (all its variables), variables or ParamRefs
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a mask matches no variable of params; `SHAPE_MISMATCH`
   */
  bind(params: ParamsArg): void {
    this.checkAlive();
    this.binding.bindTo(params);
  }

  /** The variable each mask applies to now, by mask name. */
  get boundVariableNames(): Map<string, string> {
    return new Map([...this.masks.keys()].map((k) => [k, this.binding.nameOf(k)]));
  }

  /** The masks as hook state (live variables: do not dispose). */
  getWeights(): NamedTensor[] {
    this.checkAlive();
    return [...this.masks].map(([name, tensor]) => ({ name, tensor }));
  }

  /**
   * Replaces the masks' values (e.g. from a checkpoint). Entries are matched by variable name.
   * All entries are checked ({@link MaskHook.checkWeights}) before any is written.
   *
   * @throws {@link TrainkitError} as {@link MaskHook.checkWeights}
   */
  setWeights(weights: NamedTensor[]): void {
    this.checkWeights(weights);
    tidy(() => {
      for (const w of weights) (this.masks.get(w.name) as Variable).assign(cast(w.tensor, 'float32') as Tensor);
    });
  }

  /**
   * Throws what {@link MaskHook.setWeights} would throw, without writing.
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` for a name this hook does not mask or given twice; `SHAPE_MISMATCH`;
   *   `DISPOSED`; `INVALID_ARGUMENT` for a value other than 0/1
   */
  checkWeights(weights: NamedTensor[]): void {
    this.checkAlive();
    if (!Array.isArray(weights)) throw invalidArgument('weights', weights, 'an array of {name, tensor}');
    const given = new Map<string, Tensor>();
    for (const w of weights) {
      if (typeof w !== 'object' || w === null || !this.masks.has(w.name) || given.has(w.name)) {
        throw new TrainkitError('STATE_MISMATCH', `mask weight "${(w as NamedTensor | null)?.name}" names no variable masked by hook "${this.name}"${given.has(w?.name) ? ' (given twice)' : ''}.`, 'weights');
      }
      given.set(w.name, w.tensor);
    }
    checkTensorMap('weights', given, this.masks, { binary: true });
  }

  /** {@link MaskHookConfig}; JSON only. */
  getConfig(): MaskHookConfig {
    this.checkAlive();
    return { name: this.name, variables: [...this.masks].map(([name, m]) => ({ name, shape: [...m.shape] })) };
  }

  /**
   * Rebuilds a hook with all-ones masks of the saved shapes; `HookedOptimizer.setWeights` then restores the values.
   */
  static fromConfig<T extends serialization.Serializable>(
    cls: serialization.SerializableConstructor<T>,
    config: serialization.ConfigDict,
  ): T {
    const c = config as MaskHookConfig;
    const masks: Masks = new Map();
    try {
      for (const v of c.variables) masks.set(v.name, ones(v.shape));
      return new (cls as unknown as new (m: Masks, n: string) => T)(masks, c.name);
    } finally {
      for (const m of masks.values()) m.dispose();
    }
  }

  /** Frees the mask copies; idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new TrainkitError('DISPOSED', `mask hook "${this.name}" was disposed.`);
  }
}

/**
 * The hook that enforces pruning masks during training.
 *
 * @param masks - {@link Masks} (copied: the caller keeps ownership of its own tensors)
 * @param name - hook name
 * @defaultValue name 'prune'
 * @returns a {@link MaskHook}; the HookedOptimizer it is given to disposes it
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` / `SHAPE_MISMATCH` when a mask does not fit a live variable
 * @example
 * ```ts
 * const opt = withHooks(tf.train.momentum(0.1, 0.9), maskHook(masks));
 * ```
 */
export function maskHook(masks: Masks, name?: string): MaskHook {
  return new MaskHook(masks, name);
}

/**
 * Registers {@link MaskHook} and {@link GradualPruningHook} for `HookedOptimizer.fromConfig` / model save with the
 * optimizer. Idempotent.
 */
export function registerPruneSerializables(): void {
  serialization.registerClass(MaskHook as unknown as serialization.SerializableConstructor<serialization.Serializable>);
  serialization.registerClass(GradualPruningHook as unknown as serialization.SerializableConstructor<serialization.Serializable>);
}
