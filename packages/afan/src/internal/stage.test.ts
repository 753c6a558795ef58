import { describe, expect, it } from 'vitest';
import { expectTensorClose, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { callStage, checkStage, detach } from './stage';

describe('detach (stop-gradient)', () => {
  it('has the same values and blocks the gradient: d/dx [stop(x)·x] = x, not 2x', () => {
    const x = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(detach(v), v)))(x);
    expectTensorClose(g, [1, -2, 3]);
    const d = detach(x);
    expectTensorClose(d, x);
    tf.dispose([x, g, d]);
  });

  it('outlives the tensor it came from, and both handles can be disposed in any order', () => {
    const x = tf.tensor1d([4, 5]);
    const d = detach(x);
    x.dispose();
    expectTensorClose(d, [4, 5]);
    d.dispose();
    expect(d.isDisposed).toBe(true);
  });

  it('cuts an enclosing tape: a gradient with respect to a variable used only upstream is missing', () => {
    const w = tf.tidy(() => tf.variable(tf.scalar(2)));
    const { grads, value } = tf.variableGrads(() => tf.add(tf.mul(w, 0), tf.sum(tf.square(detach(tf.mul(w, 3))))) as tf.Scalar, [w]);
    // value = (2·3)^2 = 36, gradient only via the `w·0` term = 0 (without detach: 2·(3w)·3 = 36)
    expectTensorClose(value, 36);
    expectTensorClose(grads[w.name] as tf.Tensor, 0);
    tf.dispose([value, grads[w.name] as tf.Tensor]);
    w.dispose();
  });
});

describe('stages', () => {
  it('accepts functions and objects with apply(x, {training}), passing the training flag', () => {
    const seen: boolean[] = [];
    const fn = (x: tf.Tensor, training: boolean) => (seen.push(training), tf.mul(x, 2));
    const obj = { apply: (x: tf.Tensor, kw?: { training?: boolean }) => (seen.push(kw?.training === true), tf.add(x, 1)) };
    const x = tf.scalar(3);
    const a = callStage('s', checkStage('s', fn), x, true);
    const b = callStage('s', checkStage('s', obj), x, false);
    expectTensorClose(a, 6);
    expectTensorClose(b, 4);
    expect(seen).toEqual([true, false]);
    tf.dispose([x, a, b]);
  });

  it('rejects a non-stage and a stage returning several tensors', () => {
    expect(() => checkStage('back', 3)).toThrow(TrainkitError);
    const x = tf.scalar(1);
    expect(() => callStage('back', { apply: () => [x, x] }, x, true)).toThrow(/back must return one tf.Tensor/);
    x.dispose();
  });
});
