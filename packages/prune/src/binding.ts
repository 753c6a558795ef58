import { engine, mul, tensor, type NamedTensorMap, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, mapGradients, type ParamsArg } from '@trainkit/core';
import { checkShape, resolveVariables } from './internal/params';
import type { Masks } from './mask';

/**
 * The name a variable has up to tfjs' de-duplication suffix: a model loaded beside a live copy gets `layer/kernel_1`,
 * `layer/kernel_2`, … for the weight `kernel` of layer `layer`.
 */
export function weightKey(variableName: string): string {
  return variableName.replace(/_\d+$/, '');
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Which live variable each saved name stands for. Names are the variable names at creation; a name binds to a variable
 * with the same layer and weight name ({@link weightKey}), so masks follow a model that was saved and loaded again.
 *
 * @internal
 */
export class WeightBinding {
  private readonly bound = new Map<string, string>();
  private readonly shapes = new Map<string, readonly number[]>();

  constructor(entries: ReadonlyArray<{ name: string; shape: readonly number[] }>) {
    for (const e of entries) {
      this.bound.set(e.name, e.name);
      this.shapes.set(e.name, e.shape);
    }
  }

  /** The variable name `key` is bound to now. */
  nameOf(key: string): string {
    return this.bound.get(key) ?? key;
  }

  /**
   * Re-binds every key whose variable has no gradient here to the one gradient of the same layer and weight name and
   * shape (the trained copy). Keys with no such gradient keep their binding (a frozen or untrained variable).
   *
   * @throws {@link TrainkitError} `STATE_MISMATCH` when several gradients match one key
   */
  followGradients(grads: NamedTensorMap): void {
    let keys: string[] | undefined;
    for (const [key, name] of this.bound) {
      if (grads[name] != null) continue;
      keys ??= Object.keys(grads).filter((k) => grads[k] != null);
      const stem = weightKey(key);
      const shape = this.shapes.get(key) as readonly number[];
      const hits = keys.filter((k) => weightKey(k) === stem && sameShape((grads[k] as Tensor).shape, shape));
      if (hits.length > 1) {
        throw new TrainkitError('STATE_MISMATCH', `mask "${key}" matches several trained variables (${hits.join(', ')}); bind the hook to one model with hook.bind(model).`, 'masks');
      }
      if (hits.length === 1) this.bound.set(key, hits[0] as string);
    }
  }

  /** Multiplies the gradient of each key's bound variable by its mask (call {@link followGradients} first). */
  maskGradients(grads: NamedTensorMap, masks: Iterable<readonly [string, Tensor]>): NamedTensorMap {
    const byVariable = new Map([...masks].map(([key, m]) => [this.nameOf(key), m]));
    return mapGradients(grads, (name, g) => {
      const m = byVariable.get(name);
      return m ? mul(g, m) : g;
    });
  }

  /**
   * The live variable bound to `key`: the bound name if it is live, else the one live variable of the same layer and
   * weight name and shape.
   *
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when there is none, or several
   */
  variable(key: string, argument: string): Variable {
    const reg = engine().registeredVariables;
    const name = this.nameOf(key);
    const shape = this.shapes.get(key) as readonly number[];
    const v = reg[name];
    if (v !== undefined && !v.isDisposed && (name === key || sameShape(v.shape, shape))) return v; // callers check the shape
    const stem = weightKey(key);
    const hits = Object.keys(reg).filter((k) => weightKey(k) === stem && !(reg[k] as Variable).isDisposed && sameShape((reg[k] as Variable).shape, shape));
    if (hits.length !== 1) {
      throw new TrainkitError(
        'UNKNOWN_VARIABLE',
        `${argument} names variable "${key}", which matches ${hits.length === 0 ? 'no live tf.Variable' : `several live variables (${hits.join(', ')})`}; bind it with hook.bind(model).`,
        argument,
      );
    }
    this.bound.set(key, hits[0] as string);
    return reg[hits[0] as string] as Variable;
  }

  /**
   * Binds every key to a variable of `params` with the same layer and weight name (exact names first).
   *
   * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a key matches no variable of params; `SHAPE_MISMATCH`
   */
  bindTo(params: ParamsArg, argument = 'params'): void {
    const next = matchKeys([...this.bound.keys()], resolveVariables(argument, params, true), argument);
    for (const [key, v] of next) {
      const shape = this.shapes.get(key) as readonly number[];
      if (!sameShape(v.shape, shape)) {
        throw new TrainkitError('SHAPE_MISMATCH', `"${key}" has shape [${shape.join(',')}], but "${v.name}" of ${argument} has shape [${v.shape.join(',')}].`, argument);
      }
    }
    for (const [key, v] of next) this.bound.set(key, v.name);
  }
}

function matchKeys(keys: string[], vars: Variable[], argument: string): Map<string, Variable> {
  const out = new Map<string, Variable>();
  for (const key of keys) {
    const exact = vars.find((v) => v.name === key);
    const hits = exact ? [exact] : vars.filter((v) => weightKey(v.name) === weightKey(key));
    if (hits.length !== 1) {
      throw new TrainkitError('UNKNOWN_VARIABLE', `"${key}" matches ${hits.length === 0 ? 'no variable' : 'several variables'} of ${argument} by layer and weight name.`, argument);
    }
    out.set(key, hits[0] as Variable);
  }
  return out;
}

/**
 * Re-keys masks to the variables of another instance of the same model: a copy loaded in the same process (tfjs names
 * its variables `layer/kernel_1`) or in a fresh one. Masks are matched by layer and weight name.
 *
 * @param params - the model (all its variables), variables or ParamRefs the masks should now name
 * @param masks - {@link Masks} keyed by the original variable names (not disposed)
 * @returns new masks keyed by `params`' variable names; the caller owns them
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when a mask matches no variable (or several); `SHAPE_MISMATCH`
 * @example
 * ```ts
 * const loaded = await tf.loadLayersModel(url);
 * const opt = withHooks(tf.train.adam(1e-3), maskHook(bindMasks(loaded, masks)));
 * ```
 */
export function bindMasks(params: ParamsArg, masks: Masks): Masks {
  if (!(masks instanceof Map)) throw invalidArgument('masks', masks, 'Masks (a Map from variable name to tensor)');
  const matched = matchKeys([...masks.keys()], resolveVariables('params', params, true), 'params');
  for (const [key, v] of matched) checkShape('masks', key, masks.get(key) as Tensor, v.shape);
  const out: Masks = new Map();
  for (const [key, v] of matched) {
    const m = masks.get(key) as Tensor;
    out.set(v.name, tensor(m.dataSync() as Float32Array, m.shape, 'float32'));
  }
  return out;
}
