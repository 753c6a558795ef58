import { engine, serialization, type NamedTensorMap, type Optimizer, type Variable } from '@tensorflow/tfjs-core';
import {
  TrainkitError,
  invalidArgument,
  registerCoreSerializables,
  withHooks,
  type HookedOptimizer,
  type StepHook,
} from '@trainkit/core';
import { centerTargets, type MimicNormParamsArg } from './center';
import { kernelTargets, type KernelTarget } from './internal/targets';
import { resolveParams, type MimicNormParamsOptions } from './select';

/** Arguments of {@link mimicNormHook}. */
export interface MimicNormHookArgs {
  /** Kernels to keep centred (tf.Variables / ParamRefs), or a model: then its {@link mimicNormParams} kernels. */
  params: MimicNormParamsArg;
  /** Selection options, used only when `params` is a model. @defaultValue `{ minFanIn: 50 }` */
  select?: MimicNormParamsOptions;
  /** Hook name (unique within one optimizer). @defaultValue 'mimicnorm' */
  name?: string;
}

/** JSON config of {@link MimicNormHook}: the kernels' names without tfjs' uniquifying `_N` suffix, and their axes. */
interface KernelEntry {
  name: string;
  axes: number[];
}

const DEFAULT_NAME = 'mimicnorm';

/**
 * A {@link StepHook} that re-centres its kernels after every optimizer step (the inner optimizer's update moves the
 * filter means; the hook projects them back to 0).
 *
 * @remarks Paper Sec. 4 and Appendix C: the weight mean is a projection applied after each step, with no gradient
 *   through it. tfjs skips layer constraints during `fit` (tfjs#3345), hence a hook on the optimizer.
 *   After `fromConfig` (e.g. a model saved with its optimizer and loaded again) the hook finds its kernels among the
 *   first step's gradients by name, ignoring the `_N` suffix tfjs adds to the names of a reloaded model's variables.
 */
export class MimicNormHook extends serialization.Serializable implements StepHook {
  /** The class name registered with tfjs serialization. */
  static get className(): string {
    return 'MimicNormHook';
  }
  readonly name: string;
  /** The registered class name, read by `HookedOptimizer.getConfig`. */
  get className(): string {
    return MimicNormHook.className;
  }
  private targets: KernelTarget[] | undefined;
  private pending: KernelEntry[] | undefined;

  /**
   * @param args - {@link MimicNormHookArgs}
   * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad params or name
   */
  constructor(args: MimicNormHookArgs) {
    super();
    if (typeof args !== 'object' || args === null) throw invalidArgument('args', args, 'an object {params, select?, name?}');
    const name = args.name ?? DEFAULT_NAME;
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) throw invalidArgument('name', name, 'a non-empty string without "/"');
    this.name = name;
    const restored = (args as unknown as { kernels?: unknown }).kernels;
    if (restored !== undefined) {
      this.pending = checkEntries(restored);
    } else {
      this.targets = kernelTargets('params', resolveParams('params', args.params, args.select));
    }
  }

  /** The kernels this hook keeps centred (empty until a restored hook has seen its first step). */
  get variables(): Variable[] {
    return (this.targets ?? []).map((t) => t.variable);
  }

  /** Centres the kernels now (e.g. once after initialisation). */
  center(): void {
    if (this.targets) centerTargets(this.targets);
  }

  /** Leaves the gradients as they are; a restored hook binds its kernels from their names here. */
  transformGradients(grads: NamedTensorMap): NamedTensorMap {
    if (this.targets === undefined) this.bind(Object.keys(grads));
    return grads;
  }

  /** Re-centres every kernel (runs inside the optimizer's tidy). */
  afterApply(): void {
    this.center();
  }

  getConfig(): serialization.ConfigDict {
    const entries: KernelEntry[] = this.targets ? this.targets.map((t) => ({ name: baseName(t.variable.name), axes: t.axes })) : (this.pending ?? []);
    return { name: this.name, kernels: entries.map((e) => ({ name: e.name, axes: [...e.axes] })) };
  }

  /** Rebuilds a hook from {@link MimicNormHook.getConfig}'s output (kernels are bound at the first step). */
  static fromConfig<T extends serialization.Serializable>(cls: serialization.SerializableConstructor<T>, config: serialization.ConfigDict): T {
    return new cls({ name: config['name'], kernels: config['kernels'] }) as T;
  }

  private bind(gradNames: string[]): void {
    const byBase = new Map<string, string>();
    for (const g of gradNames) if (!byBase.has(baseName(g)) || g === baseName(g)) byBase.set(baseName(g), g);
    const vars = engine().registeredVariables;
    const missing: string[] = [];
    const targets: KernelTarget[] = [];
    for (const e of this.pending ?? []) {
      const found = byBase.get(e.name);
      const v = found === undefined ? undefined : vars[found];
      if (v === undefined) {
        missing.push(e.name);
        continue;
      }
      const fanIn = e.axes.reduce((n, a) => n * (v.shape[a] ?? NaN), 1);
      if (!Number.isFinite(fanIn)) missing.push(e.name);
      else targets.push({ variable: v, axes: e.axes, fanIn });
    }
    if (missing.length > 0) {
      throw new TrainkitError(
        'UNKNOWN_VARIABLE',
        `MimicNorm hook "${this.name}" was restored from a config but found no trained variable for ${missing.map((m) => `"${m}"`).join(', ')} among this step's gradients; rebuild it with mimicNorm(inner, {params: model}).`,
        'kernels',
      );
    }
    this.targets = targets;
    this.pending = undefined;
  }
}

function baseName(name: string): string {
  return name.replace(/_\d+$/, '');
}

function checkEntries(value: unknown): KernelEntry[] {
  const ok =
    Array.isArray(value) &&
    value.every(
      (e) =>
        typeof e === 'object' && e !== null && typeof (e as KernelEntry).name === 'string' &&
        Array.isArray((e as KernelEntry).axes) && (e as KernelEntry).axes.every((a) => Number.isInteger(a) && a >= 0),
    );
  if (!ok || value.length === 0) throw invalidArgument('kernels', value, 'a non-empty array of {name, axes}');
  return (value as KernelEntry[]).map((e) => ({ name: e.name, axes: [...e.axes] }));
}

/**
 * Creates the hook that keeps `params` centred after every step; compose it with others via `withHooks`.
 *
 * @param args - {@link MimicNormHookArgs}
 * @returns a new {@link MimicNormHook} (holds no tensors)
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` for bad params or name
 * @example
 * ```ts
 * const opt = withHooks(tf.train.momentum(0.1, 0.9), mimicNormHook({ params: model }));
 * ```
 */
export function mimicNormHook(args: MimicNormHookArgs): MimicNormHook {
  return new MimicNormHook(args);
}

/** Arguments of {@link mimicNorm}. */
export interface MimicNormArgs extends MimicNormHookArgs {
  /** Centre the kernels right away (the paper centres once after init, then after every step). @defaultValue true */
  centerOnCreate?: boolean;
}

/**
 * Wraps any optimizer so that MimicNorm's weight mean is applied after each of its steps.
 *
 * @param inner - any tf.Optimizer (the result owns it)
 * @param args - {@link MimicNormArgs}
 * @returns a HookedOptimizer whose hook is reachable as `opt.hook('mimicnorm')`; the caller disposes it
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `inner` is not an optimizer or `args` are bad
 * @remarks Paper Sec. 4. Pair it with a network that has no inner BN, {@link lastBatchNorm} on the logits, and
 *   (for ResNets) ResidualScale layers (`@trainkit/mimicnorm/layers`).
 * @example
 * ```ts
 * const opt = mimicNorm(tf.train.momentum(0.05, 0.9), { params: model });
 * ```
 */
export function mimicNorm(inner: Optimizer, args: MimicNormArgs): HookedOptimizer {
  const hook = new MimicNormHook(args);
  const centerOnCreate = args.centerOnCreate ?? true;
  if (typeof centerOnCreate !== 'boolean') throw invalidArgument('centerOnCreate', centerOnCreate, 'true or false');
  const opt = withHooks(inner, hook);
  if (centerOnCreate) hook.center();
  return opt;
}

/**
 * Registers `MimicNormHook` (and core's `HookedOptimizer`) with tfjs serialization, so an optimizer saved with a
 * model can be rebuilt. Idempotent. `registerMimicNormSerializables()` from `@trainkit/mimicnorm/layers` calls it too.
 */
export function registerMimicNormHook(): void {
  registerCoreSerializables();
  serialization.registerClass(MimicNormHook);
}
