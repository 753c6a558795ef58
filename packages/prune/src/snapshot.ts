import { clone, keep, tidy, type Tensor } from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, type ParamsArg } from '@trainkit/core';
import { checkShape, resolveVariables } from './internal/params';
import { applyMasks, type Masks } from './mask';

/**
 * Saved weights: variable name → a tensor holding its value at the time of {@link snapshot}. The owner frees it with
 * {@link disposeSnapshot}.
 */
export type Snapshot = Map<string, Tensor>;

/**
 * Copies the current value of every variable (θ0, θk or θT of the paper).
 *
 * @param params - variables, ParamRefs, or a model (then ALL its variables, trainable or not: BatchNorm statistics
 *   included, as open_lth rewinds the whole state)
 * @returns a new {@link Snapshot}; the caller owns it ({@link disposeSnapshot})
 * @throws {@link TrainkitError} on an empty or invalid `params`
 */
export function snapshot(params: ParamsArg): Snapshot {
  const vars = resolveVariables('params', params, true);
  return new Map(vars.map((v) => [v.name, keep(clone(v))]));
}

/**
 * Writes a snapshot back into the variables, bit for bit, then (optionally) applies masks: the rewind step of IMP.
 *
 * @param params - the variables to restore (variables, ParamRefs, or a model: all its variables)
 * @param saved - a {@link Snapshot} (not disposed; it may be restored again)
 * @param opts - `masks` to apply after restoring; `partial`: allow `saved` to lack some of `params`
 * @defaultValue partial false
 * @throws {@link TrainkitError} `UNKNOWN_VARIABLE` when `saved` names a variable not in `params` or (unless `partial`)
 *   misses one; `SHAPE_MISMATCH`
 */
export function restore(params: ParamsArg, saved: Snapshot, opts: { masks?: Masks; partial?: boolean } = {}): void {
  if (!(saved instanceof Map)) throw invalidArgument('saved', saved, 'a Snapshot (a Map from variable name to tensor)');
  const vars = resolveVariables('params', params, true);
  const byName = new Map(vars.map((v) => [v.name, v]));
  for (const [name, t] of saved) {
    const v = byName.get(name);
    if (!v) throw new TrainkitError('UNKNOWN_VARIABLE', `saved has "${name}", which is not in params.`, 'saved');
    checkShape('saved', name, t, v.shape);
  }
  if (!opts.partial) {
    const missing = vars.filter((v) => !saved.has(v.name)).map((v) => v.name);
    if (missing.length > 0) {
      throw new TrainkitError('UNKNOWN_VARIABLE', `saved has no value for ${missing.map((m) => `"${m}"`).join(', ')} (pass partial: true to allow).`, 'saved');
    }
  }
  tidy(() => {
    for (const [name, t] of saved) (byName.get(name) as NonNullable<ReturnType<typeof byName.get>>).assign(clone(t));
  });
  if (opts.masks) applyMasks(vars, opts.masks);
}

/**
 * Disposes every tensor of a snapshot and clears it; idempotent.
 *
 * @param saved - a {@link Snapshot} the caller owns
 */
export function disposeSnapshot(saved: Snapshot | null | undefined): void {
  if (!saved) return;
  for (const t of saved.values()) if (!t.isDisposed) t.dispose();
  saved.clear();
}
