import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { expectTensorClose, seededArray, seededVariable } from '@trainkit/test-utils';
import { HookedOptimizer, TrainkitError, withHooks } from '@trainkit/core';
import { BlockState } from './assign';
import { blockView } from './blocks';
import { AdmmUnifyHook, admmUnify, admmUnifyHook, unifiableParams } from './admm';
import { unifyProjection, type LayerPlan } from './projection';
import { registerUnifySerializables } from './register';

const ARGS = { blockSize: 4, pruneRatio: 0.25, unifyRatio: 0.5 } as const;

/** Checks every planned block of `w` is exactly zero / exactly one magnitude. */
function expectStructure(w: tf.Variable, plan: LayerPlan): void {
  const v = blockView(plan.shape, { blockSize: plan.blockShape });
  const data = w.dataSync();
  for (let b = 0; b < v.numBlocks; b++) {
    const mags = Array.from(v.indices.subarray(b * v.blockLength, (b + 1) * v.blockLength), (i) => Math.abs(data[i]!));
    if (plan.states[b] === BlockState.prune) expect(mags.every((m) => m === 0)).toBe(true);
    if (plan.states[b] === BlockState.unify) expect(new Set(mags).size).toBe(1);
  }
}

/** Toy quadratic f(W) = ½‖W − T‖² over two kernels. */
function toy(tag: string) {
  const w1 = seededVariable(1, [8, 6], `admm_w1_${tag}`);
  const w2 = seededVariable(2, [3, 3, 4, 4], `admm_w2_${tag}`);
  const t1 = tf.tensor(seededArray(3, 48), [8, 6]);
  const t2 = tf.tensor(seededArray(4, 144), [3, 3, 4, 4]);
  const loss = () => tf.tidy(() => tf.add(tf.mul(0.5, tf.sum(tf.square(tf.sub(w1, t1)))), tf.mul(0.5, tf.sum(tf.square(tf.sub(w2, t2))))) as tf.Scalar);
  return { vars: [w1, w2], loss, dispose: () => tf.dispose([w1, w2, t1, t2]) };
}

describe('AdmmUnifyHook', () => {
  it('starts with Z = Π(W), U = 0, and adds ρ(W − Z + U) to the gradient', () => {
    const p = toy('grad');
    const hook = admmUnifyHook({ params: p.vars, ...ARGS, rho: 0.5 });
    const [zName, uName] = ['admm_w1_grad/unify_Z', 'admm_w1_grad/unify_U'];
    const z = tf.engine().registeredVariables[zName]!;
    const u = tf.engine().registeredVariables[uName]!;
    const { weights: proj } = unifyProjection(p.vars[0]!, ARGS);
    expect(Array.from(z.dataSync())).toEqual(Array.from(proj.dataSync()));
    expect(Array.from(u.dataSync()).every((x) => x === 0)).toBe(true);
    tf.tidy(() => {
      const g = tf.onesLike(p.vars[0]!);
      // every constrained kernel needs a gradient (a missing one is an error: its penalty would never apply)
      const out = hook.transformGradients({ [p.vars[0]!.name]: g, [p.vars[1]!.name]: tf.zerosLike(p.vars[1]!) });
      // g + 0.5·(W − Z + 0)
      expectTensorClose(out[p.vars[0]!.name]!, tf.add(g, tf.mul(0.5, tf.sub(p.vars[0]!, z))));
    });
    proj.dispose();
    hook.dispose();
    p.dispose();
  });

  it('with f ≡ 0 and an exact W-step (W = Z − U), one iteration gives W = Z ∈ S and U = 0', () => {
    const p = toy('exact');
    const hook = admmUnifyHook({ params: p.vars, ...ARGS });
    const z = tf.engine().registeredVariables['admm_w1_exact/unify_Z']!;
    const u = tf.engine().registeredVariables['admm_w1_exact/unify_U']!;
    tf.tidy(() => p.vars[0]!.assign(tf.sub(z, u)));
    const z2 = tf.engine().registeredVariables['admm_w2_exact/unify_Z']!;
    tf.tidy(() => p.vars[1]!.assign(z2));
    const r = hook.zuStep(1);
    expect(r.primal).toBe(0);
    expect(Array.from(u.dataSync()).every((x) => x === 0)).toBe(true);
    expect(Array.from(z.dataSync())).toEqual(Array.from(p.vars[0]!.dataSync()));
    hook.dispose();
    p.dispose();
  });

  it('U-step: U_new − U_old = W − Z_new; ρ grows by γ up to ρ_max and never falls', () => {
    const p = toy('ustep');
    const opt = admmUnify(tf.train.sgd(0.1), { params: p.vars, ...ARGS, rho: 0.01, rhoGrowth: 3, rhoMax: 0.5, updateEvery: 2 });
    const z = tf.engine().registeredVariables['admm_w1_ustep/unify_Z']!;
    const u = tf.engine().registeredVariables['admm_w1_ustep/unify_U']!;
    const rhos = [opt.admm.rho];
    for (let round = 0; round < 5; round++) {
      opt.minimize(p.loss, false, p.vars);
      const uOld = Float32Array.from(u.dataSync());
      opt.minimize(p.loss, false, p.vars); // step 2k: Z/U update after it
      const w = p.vars[0]!.dataSync();
      const zNew = z.dataSync();
      const uNew = u.dataSync();
      for (let i = 0; i < w.length; i++) expect(uNew[i]! - uOld[i]!).toBeCloseTo(w[i]! - zNew[i]!, 6);
      rhos.push(opt.admm.rho);
    }
    // 0.01 → 0.03 → 0.09 → 0.27 → 0.5 (capped) → 0.5
    expect(rhos.map((r) => Number(r.toFixed(6)))).toEqual([0.01, 0.03, 0.09, 0.27, 0.5, 0.5]);
    expect(opt.residuals.map((r) => r.step)).toEqual([2, 4, 6, 8, 10]);
    opt.dispose();
    p.dispose();
  });

  it('rescaleDual: U ← (U + W − Z)·ρ_old/ρ_new when ρ grows (Boyd §3.4.1)', () => {
    const p = toy('rescale');
    const opt = admmUnify(tf.train.sgd(0.1), { params: p.vars, ...ARGS, rho: 0.1, rhoGrowth: 4, rhoMax: 10, updateEvery: 1, rescaleDual: true });
    const z = tf.engine().registeredVariables['admm_w1_rescale/unify_Z']!;
    const u = tf.engine().registeredVariables['admm_w1_rescale/unify_U']!;
    opt.minimize(p.loss, false, p.vars);
    const uOld = Float32Array.from(u.dataSync());
    opt.minimize(p.loss, false, p.vars);
    const w = p.vars[0]!.dataSync();
    const zNew = z.dataSync();
    const uNew = u.dataSync();
    // ρ went 0.4 → 1.6 at this update: U_new = (U_old + W − Z)/4
    for (let i = 0; i < w.length; i++) expect(uNew[i]!).toBeCloseTo((uOld[i]! + w[i]! - zNew[i]!) / 4, 6);
    expect(opt.admm.getConfig()['rescaleDual']).toBe(true);
    opt.dispose();
    p.dispose();
  });

  it('drives the primal residual ‖W − Z‖ down over rounds on a toy quadratic', () => {
    const p = toy('primal');
    const opt = admmUnify(tf.train.sgd(0.1), { params: p.vars, ...ARGS, rho: 1, rhoGrowth: 1.2, rhoMax: 10, updateEvery: 5 });
    for (let s = 0; s < 50; s++) opt.minimize(p.loss, false, p.vars);
    const primal = opt.residuals.map((r) => r.primal);
    expect(primal.length).toBe(10);
    // worked: the W-step drifts W toward T, ρ pulls it to Z − U; as ρ grows the gap closes
    expect(primal[primal.length - 1]!).toBeLessThan(0.2 * primal[0]!);
    for (let k = 4; k < primal.length; k++) expect(primal[k]!).toBeLessThanOrEqual(primal[k - 1]! * 1.05);
    opt.dispose();
    p.dispose();
  });

  it('hardProject puts W exactly in S and turns the penalty off', () => {
    const p = toy('hard');
    const opt = admmUnify(tf.train.adam(0.05), { params: p.vars, ...ARGS, updateEvery: 3 });
    for (let s = 0; s < 9; s++) opt.minimize(p.loss, false, p.vars);
    const plan = opt.hardProject();
    expect(plan.layers.map((l) => l.name)).toEqual(p.vars.map((v) => v.name));
    plan.layers.forEach((l, i) => {
      expectStructure(p.vars[i]!, l);
      expect(l.pruneCount).toBe(Math.round(0.25 * l.numBlocks));
      expect(l.unifyCount).toBe(Math.round(0.5 * l.numBlocks));
    });
    expect(opt.admm.isFinished).toBe(true);
    tf.tidy(() => {
      const g = tf.onesLike(p.vars[0]!);
      expect(opt.admm.transformGradients({ [p.vars[0]!.name]: g })[p.vars[0]!.name]).toBe(g);
    });
    const n = opt.residuals.length;
    opt.minimize(p.loss, false, p.vars);
    opt.minimize(p.loss, false, p.vars);
    opt.minimize(p.loss, false, p.vars);
    expect(opt.residuals.length).toBe(n);
    opt.dispose();
    p.dispose();
  });

  it('round-trips state through getWeights/setWeights and config through fromConfig', async () => {
    registerUnifySerializables();
    const p = toy('state');
    const opt = admmUnify(tf.train.sgd(0.1), { params: p.vars, ...ARGS, rho: 0.01, updateEvery: 2 });
    for (let s = 0; s < 4; s++) opt.minimize(p.loss, false, p.vars);
    const saved = await opt.getWeights();
    const names = saved.map((w) => w.name);
    expect(names).toContain('hook/admm-unify/rho');
    expect(names).toContain('hook/admm-unify/admm_w1_state/unify_Z'.replace('unify_Z', 'Z'));
    const zBefore = Array.from(tf.engine().registeredVariables['admm_w1_state/unify_Z']!.dataSync());
    for (let s = 0; s < 4; s++) opt.minimize(p.loss, false, p.vars);
    await opt.setWeights(saved);
    expect(opt.admm.rho).toBeCloseTo(0.04, 7);
    expect(Array.from(tf.engine().registeredVariables['admm_w1_state/unify_Z']!.dataSync())).toEqual(zBefore);
    tf.dispose(saved.map((w) => w.tensor));
    const config = opt.getConfig();
    opt.dispose();
    const rebuilt = HookedOptimizer.fromConfig(HookedOptimizer as never, config) as unknown as HookedOptimizer;
    const hook = rebuilt.hook<AdmmUnifyHook>('admm-unify')!;
    expect(hook).toBeInstanceOf(AdmmUnifyHook);
    expect(hook.getConfig()).toEqual({ name: 'admm-unify', params: p.vars.map((v) => v.name), blockSize: [1, 4, 1], pruneRatio: 0.25, unifyRatio: 0.5, rho: 0.01, rhoGrowth: 2, rhoMax: 1, updateEvery: 2, rescaleDual: false });
    rebuilt.dispose();
    p.dispose();
  });

  it('picks the middle conv/dense kernels of a model and composes with other hooks', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 8, kernelSize: 3, name: 'ua_c1' }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, name: 'ua_c2' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 8, name: 'ua_d1' }),
        tf.layers.dense({ units: 3, name: 'ua_out' }),
      ],
    });
    expect(unifiableParams(model).map((p) => p.layerName)).toEqual(['ua_c2', 'ua_d1']);
    const opt = withHooks(tf.train.sgd(0.01), admmUnifyHook({ params: model, ...ARGS }));
    expect(opt.hook<AdmmUnifyHook>('admm-unify')!.variables.length).toBe(2);
    opt.dispose();
    model.dispose();
  });

  it('rejects bad arguments clearly and leaks nothing when it does', () => {
    const p = toy('bad');
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ pruneRatio: 0.7, unifyRatio: 0.5 }, /pruneRatio \+ unifyRatio/],
      [{ rho: 0 }, /rho must be/],
      [{ rhoGrowth: 0.5 }, /rhoGrowth must be/],
      [{ updateEvery: 2.5 }, /updateEvery must be/],
      [{ blockSize: 16 }, /blockSize must be a block that fits/],
    ];
    for (const [extra, msg] of bad) expect(() => admmUnifyHook({ params: p.vars, ...ARGS, ...extra })).toThrowError(msg);
    expect(() => admmUnifyHook({ params: [] })).toThrowError(TrainkitError);
    const nan = tf.tidy(() => tf.variable(tf.tensor2d([1, Number.NaN, 0, 1, 2, 3, 4, 5], [4, 2]), true, 'admm_nan_w'));
    const before = tf.memory().numTensors;
    expect(() => admmUnifyHook({ params: [p.vars[0]!, nan], ...ARGS })).toThrowError(/NaN or infinite/);
    expect(tf.memory().numTensors).toBe(before);
    nan.dispose();
    expect(() => admmUnify({} as tf.Optimizer, { params: p.vars })).toThrowError(/inner must be/);
    p.dispose();
  });
});
