import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededArray, seededVariable } from '@trainkit/test-utils';
import { TrainkitError, withHooks } from '@trainkit/core';
import { BlockState } from './assign';
import { blockView } from './blocks';
import { admmUnify } from './admm';
import { unifyProjection, type LayerPlan } from './projection';
import { unifiedHook } from './unified-hook';

/** Toy quadratic f(W) = ½‖W − T‖² on one conv kernel [3, 3, 10, 6] (in = 10: edges for (1,4,1)). */
function toy(tag: string) {
  const w = seededVariable(5, [3, 3, 10, 6], `uh_w_${tag}`);
  const t = tf.tensor(seededArray(6, 540, -2, 2), [3, 3, 10, 6]);
  const loss = () => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(w, t)))) as tf.Scalar);
  return { w, loss, dispose: () => tf.dispose([w, t]) };
}

function project(w: tf.Variable, rp = 0.3, ru = 0.4): LayerPlan {
  const { weights, plan } = unifyProjection(w, { pruneRatio: rp, unifyRatio: ru });
  w.assign(weights);
  weights.dispose();
  return plan;
}

function blocks(w: tf.Variable, plan: LayerPlan): { state: number; values: number[] }[] {
  const v = blockView(plan.shape, { blockSize: plan.blockShape });
  const d = w.dataSync();
  return Array.from({ length: v.numBlocks }, (_, b) => ({
    state: plan.states[b]!,
    values: Array.from(v.indices.subarray(b * v.blockLength, (b + 1) * v.blockLength), (i) => d[i]!),
  }));
}

const OPTS: Record<string, () => tf.Optimizer> = {
  momentum: () => tf.train.momentum(0.05, 0.9),
  adam: () => tf.train.adam(0.05),
};

describe('unifiedHook: frozen unified blocks (default)', () => {
  for (const [name, make] of Object.entries(OPTS)) {
    it(`keeps pruned entries exactly 0.0 and unified blocks bit-identical over 20 ${name} steps`, () => {
      const p = toy(`frozen_${name}`);
      const plan = project(p.w);
      const before = blocks(p.w, plan);
      const opt = withHooks(make(), unifiedHook(plan));
      for (let s = 0; s < 20; s++) opt.minimize(p.loss, false, [p.w]);
      const after = blocks(p.w, plan);
      let keptMoved = 0;
      after.forEach((blk, b) => {
        if (blk.state === BlockState.prune) expect(blk.values.every((x) => Object.is(x, 0))).toBe(true);
        else if (blk.state === BlockState.unify) expect(blk.values).toEqual(before[b]!.values);
        else if (blk.values.some((x, j) => x !== before[b]!.values[j])) keptMoved++;
      });
      expect(keptMoved).toBe(after.filter((x) => x.state === BlockState.keep).length); // the free weights trained
      opt.dispose();
      p.dispose();
    });
  }

  it('zeroes the gradients of planned entries and passes the others through', () => {
    const p = toy('grads');
    const plan = project(p.w);
    const hook = unifiedHook(plan);
    tf.tidy(() => {
      const g = tf.onesLike(p.w);
      const out = hook.transformGradients({ [p.w.name]: g })[p.w.name]!.dataSync();
      const v = blockView(plan.shape);
      const planned = new Uint8Array(out.length);
      for (let b = 0; b < v.numBlocks; b++) if (plan.states[b] !== BlockState.keep) for (const i of v.indices.subarray(b * 4, b * 4 + 4)) planned[i] = 1;
      for (let i = 0; i < out.length; i++) expect(out[i]).toBe(planned[i] ? 0 : 1);
    });
    hook.dispose();
    p.dispose();
  });
});

describe('unifiedHook: trainSharedMagnitude', () => {
  it('sends each unified block the gradient of its magnitude, s_j Σ_k s_k g_k', () => {
    const p = toy('sharedgrad');
    const plan = project(p.w);
    const hook = unifiedHook(plan, { trainSharedMagnitude: true });
    const gVals = seededArray(9, 540);
    tf.tidy(() => {
      const out = hook.transformGradients({ [p.w.name]: tf.tensor(gVals, p.w.shape) })[p.w.name]!.dataSync();
      const v = blockView(plan.shape);
      for (let b = 0; b < v.numBlocks; b++) {
        const idx = Array.from(v.indices.subarray(b * 4, b * 4 + 4));
        if (plan.states[b] === BlockState.unify) {
          const ga = idx.reduce((s, i) => s + plan.signs[i]! * gVals[i]!, 0); // ∂L/∂a_b
          for (const i of idx) expect(out[i]).toBeCloseTo(plan.signs[i]! * ga, 5);
        } else if (plan.states[b] === BlockState.prune) {
          for (const i of idx) expect(out[i]).toBe(0);
        } else {
          for (const i of idx) expect(out[i]).toBe(gVals[i]);
        }
      }
    });
    hook.dispose();
    p.dispose();
  });

  it('trains one magnitude per block (a_b >= 0, signs fixed) while pruned entries stay 0.0, over 20 Adam steps', () => {
    const p = toy('shared');
    const plan = project(p.w);
    const before = blocks(p.w, plan);
    const opt = withHooks(tf.train.adam(0.05), unifiedHook(plan, { trainSharedMagnitude: true }));
    for (let s = 0; s < 20; s++) opt.minimize(p.loss, false, [p.w]);
    const after = blocks(p.w, plan);
    let changed = 0;
    after.forEach((blk, b) => {
      if (blk.state === BlockState.prune) expect(blk.values.every((x) => x === 0)).toBe(true);
      if (blk.state === BlockState.unify) {
        const mags = blk.values.map(Math.abs);
        expect(new Set(mags).size).toBe(1);
        if (mags[0]! > 0) blk.values.forEach((x, j) => expect(Math.sign(x)).toBe(Math.sign(before[b]!.values[j]!) || 1));
        if (mags[0] !== Math.abs(before[b]!.values[0]!)) changed++;
      }
    });
    expect(changed).toBeGreaterThan(0);
    opt.dispose();
    p.dispose();
  });
});

describe('with model.compile + fit', () => {
  it('keeps the structure through fit (the hook runs inside the optimizer step)', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: 8, name: 'uh_fit_d1' }), tf.layers.dense({ units: 2, name: 'uh_fit_out' })] });
    const w = model.layers[0]!.trainableWeights[0]!.read() as tf.Variable;
    const plan = project(w, 0.25, 0.5);
    model.compile({ optimizer: withHooks(tf.train.adam(0.05), unifiedHook(plan, { trainSharedMagnitude: true })), loss: 'meanSquaredError' });
    const x = tf.tensor2d(seededArray(51, 16 * 8), [16, 8]);
    const y = tf.tensor2d(seededArray(52, 16 * 2), [16, 2]);
    await model.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
    blocks(w, plan).forEach((blk) => {
      if (blk.state === BlockState.prune) expect(blk.values.every((v) => v === 0)).toBe(true);
      if (blk.state === BlockState.unify) expect(new Set(blk.values.map(Math.abs)).size).toBe(1);
    });
    (model.optimizer as tf.Optimizer).dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('ADMM → hardProject → fine-tune', () => {
  it('keeps every planned block exactly unified or zero from hardProject through fine-tuning', () => {
    const p = toy('pipeline');
    const admm = admmUnify(tf.train.adam(0.05), { params: [p.w], pruneRatio: 0.3, unifyRatio: 0.5, updateEvery: 4, rho: 0.1 });
    for (let s = 0; s < 12; s++) admm.minimize(p.loss, false, [p.w]);
    const plan = admm.hardProject();
    admm.dispose();
    const check = () =>
      blocks(p.w, plan.layers[0]!).forEach((blk) => {
        if (blk.state === BlockState.prune) expect(blk.values.every((x) => x === 0)).toBe(true);
        if (blk.state === BlockState.unify) expect(new Set(blk.values.map(Math.abs)).size).toBe(1);
      });
    check();
    const ft = withHooks(tf.train.momentum(0.05, 0.9), unifiedHook(plan, { trainSharedMagnitude: true }));
    for (let s = 0; s < 10; s++) {
      ft.minimize(p.loss, false, [p.w]);
      check();
    }
    ft.dispose();
    p.dispose();
  });

  it('rejects a plan whose variable is missing or has another shape', () => {
    const p = toy('bad');
    const plan = project(p.w);
    expect(() => unifiedHook({ ...plan, name: 'no_such_variable' })).toThrowError(/not a live tf.Variable/);
    expect(() => unifiedHook({ ...plan, shape: [3, 3, 6, 10] })).toThrowError(TrainkitError);
    p.dispose();
  });

  it('frees its masks on dispose (no leak) and refuses to run afterwards', () => {
    const p = toy('leak');
    const plan = project(p.w);
    const n = tf.memory().numTensors;
    const hook = unifiedHook(plan, { trainSharedMagnitude: true });
    hook.dispose();
    hook.dispose();
    expect(tf.memory().numTensors).toBe(n);
    expect(() => hook.enforce()).toThrowError(/disposed/);
    p.dispose();
  });
});
