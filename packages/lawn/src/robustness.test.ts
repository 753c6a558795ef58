import { errorCodeOf } from '@trainkit/test-utils';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LawnHook, lawn, lawnHook, weightNorms } from './index';

describe('LAWN inputs that used to be cryptic or silent', () => {
  it('lawn(null, args) throws INVALID_ARGUMENT and leaks no hook state', () => {
    const w = tf.tidy(() => tf.variable(tf.ones([2, 2])));
    const before = tf.memory().numTensors;
    expect(errorCodeOf(() => lawn(null as unknown as tf.Optimizer, { params: [w], freeSteps: 1 }))).toBe('INVALID_ARGUMENT');
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
  });

  it('lawnHook on a model whose constrained kernels are not trainable is refused (it would constrain nothing)', () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], useBias: false, activation: 'relu' }), tf.layers.dense({ units: 2, useBias: false })] });
    model.trainable = false;
    expect(errorCodeOf(() => lawnHook({ params: model, freeSteps: 1 }))).toBe('INVALID_ARGUMENT');
    model.dispose();
  });

  it('weightNorms(w, "bogus") is INVALID_ARGUMENT, not per-unit norms', () => {
    const w = tf.ones([2, 3]);
    expect(errorCodeOf(() => weightNorms(w, 'bogus' as never))).toBe('INVALID_ARGUMENT');
    w.dispose();
  });

  it('a disposed variable or hook gives DISPOSED', () => {
    const w = tf.tidy(() => tf.variable(tf.ones([2, 2])));
    const hook = lawnHook({ params: [w], freeSteps: 1 });
    hook.dispose();
    expect(errorCodeOf(() => hook.afterApply({ step: 1 }))).toBe('DISPOSED');
    expect(errorCodeOf(() => hook.getWeights())).toBe('DISPOSED');
    w.dispose();
    expect(errorCodeOf(() => lawnHook({ params: [w], freeSteps: 1 }))).toBe('DISPOSED');
  });
});

describe('LAWN norm overflow (weights near 1e20)', () => {
  it('freezing an Inf norm throws before anything is frozen; the weights never turn to NaN', () => {
    const w = tf.tidy(() => tf.variable(tf.fill([2, 2], 1e20)));
    const opt = lawn(tf.train.sgd(1e-30), { params: [w], freeSteps: 0 });
    expect(() => opt.minimize(() => tf.sum(w) as tf.Scalar, false, [w])).toThrow(/cannot freeze the norm/);
    expect(opt.lawn.phase).toBe('free');
    expect(Array.from(w.dataSync())).toEqual([1e20, 1e20, 1e20, 1e20].map(Math.fround));
    opt.dispose();
    w.dispose();
  });
});

describe('LawnHook.setWeights is all or nothing', () => {
  it('a bad norm_1 leaves switchedAt and norm_0 unchanged', () => {
    const a = tf.tidy(() => tf.variable(tf.ones([2, 2])));
    const b = tf.tidy(() => tf.variable(tf.ones([3])));
    const hook = lawnHook({ params: [a, b], freeSteps: 0 });
    hook.beginConstrainedPhase(4);
    const before = hook.getWeights().map((x) => Array.from(x.tensor.dataSync()));
    const state = [
      { name: 'switchedAt', tensor: tf.scalar(9) },
      { name: 'norm_0', tensor: tf.scalar(7) },
      { name: 'norm_1', tensor: tf.scalar(NaN) },
    ];
    expect(errorCodeOf(() => hook.setWeights(state))).toBe('STATE_MISMATCH');
    expect(hook.getWeights().map((x) => Array.from(x.tensor.dataSync()))).toEqual(before);
    tf.dispose(state.map((s) => s.tensor));
    hook.dispose();
    tf.dispose([a, b]);
  });

  it('a rebuilt (unbound) hook allocates no state when the state is refused', () => {
    const hook = LawnHook.fromConfig(LawnHook as never, { name: 'lawn', params: [{ name: 'x' }], freeSteps: 1, granularity: 'layer', projectGradient: true, eps: 1e-12 }) as unknown as LawnHook;
    const before = tf.memory().numTensors;
    const state = [{ name: 'switchedAt', tensor: tf.scalar(0.5) }, { name: 'norm_0', tensor: tf.scalar(1) }];
    expect(errorCodeOf(() => hook.setWeights(state))).toBe('STATE_MISMATCH');
    tf.dispose(state.map((s) => s.tensor));
    expect(tf.memory().numTensors).toBe(before);
    expect(hook.getWeights()).toEqual([]);
    hook.dispose();
  });
});
