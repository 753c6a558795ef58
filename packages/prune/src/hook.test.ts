import { describe, expect, it } from 'vitest';
import { expectNoLeak, seededData, seededVariable, tf } from '@trainkit/test-utils';
import { HookedOptimizer, registerCoreSerializables, withHooks, type StepHook } from '@trainkit/core';
import { disposeMasks, magnitudeMasks, type Masks } from './mask';
import { MaskHook, maskHook, registerPruneSerializables } from './hook';

const OPTIMIZERS: Array<[string, () => tf.Optimizer]> = [
  ['sgd', () => tf.train.sgd(0.1)],
  ['momentum', () => tf.train.momentum(0.1, 0.9)],
  ['nesterov', () => tf.train.momentum(0.1, 0.9, true)],
  ['adam', () => tf.train.adam(0.05)],
  ['rmsprop', () => tf.train.rmsprop(0.01, 0.9, 0.9)],
  ['adamax', () => tf.train.adamax(0.05)],
  ['adagrad', () => tf.train.adagrad(0.1)],
];

/** A tiny linear problem with L2 weight decay in the loss. */
function problem(seed: number) {
  const w = seededVariable(seed, [6, 3], undefined, -1, 1);
  const b = seededVariable(seed + 1, [3], undefined, -0.1, 0.1);
  const { x, y } = seededData(seed + 2, 16, 6, 3);
  const loss = (decay: number) => () =>
    tf.tidy(() => {
      const logits = tf.add(tf.matMul(x, w), b);
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1)));
      return tf.add(ce, tf.mul(decay, tf.sum(tf.square(w)))) as tf.Scalar;
    });
  const dispose = () => {
    for (const t of [w, b, x, y]) t.dispose();
  };
  return { w, b, loss, dispose };
}

const prunedValues = (w: tf.Variable, masks: Masks): number[] => {
  const m = (masks.get(w.name) as tf.Tensor).dataSync();
  return Array.from(w.dataSync()).filter((_, i) => m[i] === 0);
};

describe('maskHook', () => {
  it.each(OPTIMIZERS)('%s: pruned weights stay exactly 0 from dense optimizer state, with weight decay, nested masks', async (_n, make) => {
    const p = problem(7);
    const inner = make();
    // Dense phase: builds momentum / Adam slots for every weight.
    for (let i = 0; i < 8; i++) inner.minimize(p.loss(1e-2), false, [p.w, p.b]);
    const m1 = magnitudeMasks([p.w], { sparsity: 0.5 });
    const hook = maskHook(m1);
    const opt = withHooks(inner, hook);
    hook.apply();
    for (let i = 0; i < 10; i++) {
      opt.minimize(p.loss(1e-2), false, [p.w, p.b]);
      expect(prunedValues(p.w, m1).every((v) => v === 0)).toBe(true);
    }
    // Next round: nested mask, swapped into the same hook (optimizer state kept).
    const m2 = magnitudeMasks([p.w], { sparsity: 0.8, previous: m1 });
    hook.setWeights([...m2].map(([name, tensor]) => ({ name, tensor })));
    hook.apply();
    for (let i = 0; i < 10; i++) opt.minimize(p.loss(1e-2), false, [p.w, p.b]);
    expect(prunedValues(p.w, m2)).toEqual(new Array(Math.round(0.8 * 18)).fill(0));
    // Unpruned weights did move (the test would be vacuous otherwise).
    const kept = Array.from(p.w.dataSync()).filter((_, i) => (m2.get(p.w.name) as tf.Tensor).dataSync()[i] === 1);
    expect(kept.some((v) => v !== 0)).toBe(true);
    opt.dispose();
    disposeMasks(m1);
    disposeMasks(m2);
    p.dispose();
  });

  it('masking only the gradient is not enough under momentum (why afterApply re-masks)', () => {
    const p = problem(3);
    const inner = tf.train.momentum(0.1, 0.9);
    for (let i = 0; i < 8; i++) inner.minimize(p.loss(0), false, [p.w, p.b]);
    const masks = magnitudeMasks([p.w], { sparsity: 0.5 });
    const real = maskHook(masks);
    const gradOnly: StepHook = { name: 'grad-only', transformGradients: (g, c) => real.transformGradients(g, c) };
    const opt = withHooks(inner, gradOnly);
    real.apply();
    opt.minimize(p.loss(0), false, [p.w, p.b]);
    expect(prunedValues(p.w, masks).some((v) => v !== 0)).toBe(true);
    opt.dispose();
    real.dispose();
    disposeMasks(masks);
    p.dispose();
  });

  it('works inside model.fit with a decoupled weight decay hook before it', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [5], activation: 'relu' }), tf.layers.dense({ units: 2 })] });
    const masks = magnitudeMasks(model, { sparsity: 0.7, scope: 'global' });
    const decay: StepHook = {
      name: 'decay',
      afterApply: () => {
        for (const l of model.layers) for (const v of l.trainableWeights) tf.tidy(() => {
          v.write(tf.add(tf.mul(v.read(), 0.99), 0.001));
        });
      },
    };
    const opt = withHooks(tf.train.adam(0.05), decay, maskHook(masks));
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const x = tf.tidy(() => tf.randomNormal([16, 5], 0, 1, 'float32', 1));
    const y = tf.tidy(() => tf.randomNormal([16, 2], 0, 1, 'float32', 2));
    await model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
    for (const [name, m] of masks) {
      const v = tf.engine().registeredVariables[name] as tf.Variable;
      const md = m.dataSync();
      expect(Array.from(v.dataSync()).filter((_, i) => md[i] === 0).every((z) => z === 0)).toBe(true);
    }
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
    disposeMasks(masks);
  });

  it('checkpoint: getWeights → setWeights and getConfig → fromConfig round-trip the masks', async () => {
    registerCoreSerializables();
    registerPruneSerializables();
    const p = problem(5);
    const masks = magnitudeMasks([p.w], { sparsity: 0.5 });
    const opt = withHooks(tf.train.momentum(0.1, 0.9), maskHook(masks, 'prune'));
    opt.minimize(p.loss(0), false, [p.w, p.b]);
    const state = await opt.getWeights();
    const config = opt.getConfig();
    const rebuilt = HookedOptimizer.fromConfig(HookedOptimizer as unknown as tf.serialization.SerializableConstructor<HookedOptimizer>, JSON.parse(JSON.stringify(config))) as HookedOptimizer;
    await rebuilt.setWeights(state);
    const hook = rebuilt.hook<MaskHook>('prune') as MaskHook;
    expect(hook.variableNames).toEqual([p.w.name]);
    const restored = hook.getWeights()[0]?.tensor as tf.Tensor;
    expect(Array.from(restored.dataSync())).toEqual(Array.from((masks.get(p.w.name) as tf.Tensor).dataSync()));
    for (const s of state) s.tensor.dispose();
    rebuilt.dispose();
    opt.dispose();
    disposeMasks(masks);
    p.dispose();
  });

  it('copies the masks (the caller may dispose its own), rejects unknown variables and wrong shapes, dispose is idempotent', async () => {
    await expectNoLeak(() => {
      const p = problem(9);
      const masks = magnitudeMasks([p.w], { sparsity: 0.5 });
      const h = maskHook(masks);
      disposeMasks(masks);
      expect(() => h.apply()).not.toThrow();
      h.dispose();
      h.dispose();
      expect(() => h.apply()).toThrow(/disposed/);
      const bad = new Map([['ghost', tf.ones([2])]]);
      expect(() => maskHook(bad)).toThrow(/ghost/);
      disposeMasks(bad);
      const wrong = new Map([[p.w.name, tf.ones([2])]]);
      expect(() => maskHook(wrong)).toThrow(/shape/);
      disposeMasks(wrong);
      p.dispose();
    });
  });
});
