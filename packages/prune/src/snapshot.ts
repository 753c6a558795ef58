import { clone, keep, tidy, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { TrainkitError, checkBoolean, invalidArgument, type ParamsArg } from '@trainkit/core';
import { byName, checkTensorMap, resolveVariables } from './internal/params';
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
 *   misses one; `SHAPE_MISMATCH`; `STATE_MISMATCH` for a dtype that differs from the variable's; `DISPOSED` for a disposed
 *   variable, snapshot entry or mask; `INVALID_ARGUMENT` for a mask value other than 0/1. Everything (the masks
 *   included) is checked before the first write, so a failing call changes nothing.
 */
export function restore(params: ParamsArg, saved: Snapshot, opts: { masks?: Masks; partial?: boolean } = {}): void {
  if (!(saved instanceof Map)) throw invalidArgument('saved', saved, 'a Snapshot (a Map from variable name to tensor)');
  if (typeof opts !== 'object' || opts === null) throw invalidArgument('opts', opts, 'an object {masks?, partial?}');
  const partial = checkBoolean('opts.partial', opts.partial, false);
  const vars = resolveVariables('params', params, true);
  const named = byName(vars);
  checkTensorMap('saved', saved, named, { what: 'a Snapshot (a Map from variable name to tensor)' });
  for (const [name, t] of saved) {
    const v = named.get(name) as Variable;
    if (t.dtype !== v.dtype) {
      throw new TrainkitError('STATE_MISMATCH', `saved entry "${name}" has dtype ${t.dtype}, but the variable is ${v.dtype}.`, 'saved');
    }
  }
  if (!partial) {
    const missing = vars.filter((v) => !saved.has(v.name)).map((v) => v.name);
    if (missing.length > 0) {
      throw new TrainkitError('UNKNOWN_VARIABLE', `saved has no value for ${missing.map((m) => `"${m}"`).join(', ')} (pass partial: true to allow).`, 'saved');
    }
  }
  // Check the masks too before the first write: a failing call changes nothing.
  if (opts.masks !== undefined) checkTensorMap('opts.masks', opts.masks, named, { binary: true });
  tidy(() => {
    for (const [name, t] of saved) (named.get(name) as Variable).assign(clone(t));
  });
  if (opts.masks !== undefined) applyMasks(vars, opts.masks);
}

/**
 * Disposes every tensor of a snapshot and clears it; idempotent.
 *
 * @param saved - a {@link Snapshot} the caller owns
 */
export function disposeSnapshot(saved: Snapshot | null | undefined): void {
  if (saved === null || saved === undefined) return;
  if (!(saved instanceof Map)) throw invalidArgument('saved', saved, 'a Snapshot (a Map from variable name to tensor), null or undefined');
  for (const t of saved.values()) if (t && typeof t.dispose === 'function' && !t.isDisposed) t.dispose();
  saved.clear();
}
