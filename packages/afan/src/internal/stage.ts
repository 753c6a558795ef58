import { Tensor, backend, engine } from '@tensorflow/tfjs-core';
import { TrainkitError, describeValue, invalidArgument } from '@trainkit/core';

/**
 * One half of a split network: a function `(x, training) => y`, or anything with a tfjs-layers style
 * `apply(x, {training})` (a `tf.LayersModel`, e.g. the `front`/`back` that `splitModel` returns).
 */
export type Stage =
  | ((x: Tensor, training: boolean) => Tensor)
  | { apply(inputs: Tensor, kwargs?: { training?: boolean }): unknown };

/** @internal Checks that `value` is a {@link Stage}. */
export function checkStage(argument: string, value: unknown): Stage {
  if (typeof value === 'function') return value as Stage;
  if (typeof value === 'object' && value !== null && typeof (value as { apply?: unknown }).apply === 'function') {
    return value as Stage;
  }
  throw invalidArgument(argument, value, 'a function (x, training) => tf.Tensor or a tf.LayersModel');
}

/** @internal Runs a stage on one tensor and checks it returned one tensor. */
export function callStage(argument: string, stage: Stage, x: Tensor, training: boolean): Tensor {
  const out = typeof stage === 'function' ? stage(x, training) : stage.apply(x, { training });
  if (!(out instanceof Tensor)) {
    throw new TrainkitError(
      'UNSUPPORTED_MODEL',
      `${argument} must return one tf.Tensor; it returned ${describeValue(out)} (a model with several outputs ` +
        'or a symbolic tensor is not supported).',
      argument,
    );
  }
  return out;
}

/**
 * @internal A stop-gradient: a new tensor handle on the same data that no gradient tape links to `x`.
 *
 * @remarks tfjs-core has no `stopGradient` op, and a `customGrad` returning zeros still makes the outer tape walk
 * (and back-propagate zeros through) everything upstream, here the whole feature attack. This does what the
 * Identity kernel does (one more reference on the same data, no copy) without recording a tape node, so the
 * result is a leaf for any enclosing `tf.grad` / `optimizer.minimize`. The caller owns the result (it is tracked
 * by the enclosing `tf.tidy` like any tensor); disposing either handle leaves the other valid.
 */
export function detach<T extends Tensor>(x: T): T {
  backend().incRef(x.dataId);
  return engine().makeTensorFromTensorInfo({ dataId: x.dataId, shape: x.shape, dtype: x.dtype }) as T;
}
