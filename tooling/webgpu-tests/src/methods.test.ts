// One invariant per method package on webgpu, each also checked against the same run on cpu (1e-3).
import { describe, expect, it } from 'vitest';
import { seededArray, tf } from '@trainkit/test-utils';
import { canReadSync, readBack, withHooks } from '@trainkit/core';
import { lawn } from '@trainkit/lawn';
import { mimicNorm } from '@trainkit/mimicnorm';
import { emaTeacher, emanHook } from '@trainkit/eman/layers';
import { featureStatSwap } from '@trainkit/afan';
import { applyMasks, magnitudeMasks, maskHook, disposeMasks, gradualPruning, polynomialDecay, type GradualPruningHook } from '@trainkit/prune';
import { admmUnify, blockView, BlockState, unifiedHook } from '@trainkit/unify';
import { expectCrossBackendClose, onCpuAndWebgpu, values } from './both';

const init = (seed: number) => tf.initializers.glorotUniform({ seed });
const xy = (n: number, d: number, k: number, seed: number) => {
  const x = tf.tensor2d(seededArray(seed, n * d), [n, d]);
  const y = tf.tidy(() => tf.oneHot(tf.argMax(tf.slice(x, [0, 0], [-1, k]), 1), k));
  return { x, y };
};
// −mean Σ y·log softmax (tf.losses.softmaxCrossEntropy trips tfjs' IS_TEST leak check)
const ce = (y: tf.Tensor, logits: tf.Tensor) => tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1)))) as tf.Scalar;

/** Runs `steps` steps of `opt.minimize`, awaiting the loss between steps (as the bench trainer does). */
async function fit(opt: tf.Optimizer, loss: () => tf.Scalar, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(loss, true)!;
    await l.data();
    l.dispose();
  }
}

describe('webgpu in Node', () => {
  it('has no synchronous readback; readBack() makes dataSync() work', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(canReadSync()).toBe(false);
    const t = tf.tidy(() => tf.matMul(tf.ones([16, 16]), tf.ones([16, 16]))); // computed on the GPU
    await readBack([t]);
    expect(t.dataSync()[0]).toBe(16); // 16 products of 1·1
    t.dispose();
  });

  it('readBack() keeps the host copy of a tensor made from host values valid through its first use on the GPU', async () => {
    const host = tf.tensor2d(seededArray(20, 16 * 16), [16, 16]); // values in JS, not yet uploaded
    const w = tf.variable(host);
    host.dispose();
    await readBack([w]);
    const y = tf.tidy(() => tf.matMul(w, w)); // uploads w
    const expected = await y.data();
    expect(w.dataSync().length).toBe(256);
    const again = tf.tidy(() => tf.matMul(w, w));
    expect(Array.from(await again.data())).toEqual(Array.from(expected));
    tf.dispose([w, y, again]);
  });
});

describe('method invariants on webgpu, against cpu', () => {
  it('lawn: after the switch the constrained weight norms stay at their frozen values', async () => {
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', useBias: false, kernelInitializer: init(1) }),
          tf.layers.dense({ units: 3, useBias: false, kernelInitializer: init(2) }),
        ],
      });
      const { x, y } = xy(16, 4, 3, 3);
      const opt = lawn(tf.train.adam(0.05), { params: model, freeSteps: 2 });
      await fit(opt, () => ce(y, model.apply(x) as tf.Tensor), 6);
      await new Promise((r) => setTimeout(r, 0)); // the switch-time check reads the norms back asynchronously
      const frozen = opt.frozenNorms().map((f) => f.norms[0]!);
      const norms = tf.tidy(() => model.layers.map((l) => tf.norm(l.getWeights()[0]!)));
      const now = (await values(norms)).map((v) => v[0]!);
      const weights = await values(model.getWeights());
      const phase = opt.phase;
      tf.dispose([...norms, x, y]);
      opt.dispose();
      model.dispose();
      return { frozen, now, weights, phase };
    });
    expect(webgpu.phase).toBe('constrained');
    for (const [i, n] of webgpu.now.entries()) expect(Math.abs(n - webgpu.frozen[i]!)).toBeLessThanOrEqual(1e-4 * webgpu.frozen[i]!);
    expectCrossBackendClose([webgpu.frozen, webgpu.now], [cpu.frozen, cpu.now], 'norms');
    expectCrossBackendClose(webgpu.weights, cpu.weights, 'weights');
  });

  it('mimicnorm: every centred conv filter has mean ~0 after each step', async () => {
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [6, 6, 8], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: init(4) }), // 72 weights/filter
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, kernelInitializer: init(5) }),
        ],
      });
      const x = tf.tensor4d(seededArray(6, 4 * 6 * 6 * 8), [4, 6, 6, 8]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3));
      const opt = mimicNorm(tf.train.momentum(0.05, 0.9), { params: model });
      await fit(opt, () => ce(y, model.apply(x) as tf.Tensor), 3);
      const kernel = model.layers[0]!.getWeights()[0]!;
      const means = tf.tidy(() => tf.mean(kernel, [0, 1, 2]));
      const scale = tf.tidy(() => tf.max(tf.abs(kernel)));
      const [m, sc] = await values([means, scale]);
      const weights = await values(model.getWeights());
      tf.dispose([means, scale, x, y]);
      opt.dispose();
      model.dispose();
      return { means: m!, scale: sc![0]!, weights };
    });
    for (const m of webgpu.means) expect(Math.abs(m)).toBeLessThanOrEqual(1e-5 * Math.max(1, webgpu.scale));
    expectCrossBackendClose(webgpu.weights, cpu.weights, 'weights');
  });

  it('eman: one teacher update is ξ ← m·ξ + (1 − m)·θ for weights and BN statistics alike', async () => {
    const m = 0.9;
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const student = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [4], units: 6, kernelInitializer: init(7) }), tf.layers.batchNormalization(), tf.layers.dense({ units: 3, kernelInitializer: init(8) })],
      });
      const teacher = emaTeacher(student, { momentum: m });
      // Layer by layer: the teacher's weights are all non-trainable, so model.getWeights() orders them differently.
      const layerWeights = (model: tf.LayersModel) => model.layers.flatMap((l) => l.getWeights());
      const before = await values(layerWeights(teacher.model));
      const { x, y } = xy(8, 4, 3, 9);
      const opt = withHooks(tf.train.sgd(0.1), emanHook(teacher));
      await fit(opt, () => ce(y, student.apply(x, { training: true }) as tf.Tensor), 1);
      const studentAfter = await values(layerWeights(student));
      const teacherAfter = await values(layerWeights(teacher.model));
      tf.dispose([x, y]);
      opt.dispose();
      teacher.dispose();
      student.dispose();
      return { before, studentAfter, teacherAfter };
    });
    const closed = webgpu.before.map((t, k) => t.map((v, i) => m * v + (1 - m) * webgpu.studentAfter[k]![i]!));
    expect(webgpu.teacherAfter.length).toBe(8); // 2 × (kernel, bias) + BN gamma, beta, moving mean, moving variance
    expectCrossBackendClose(webgpu.teacherAfter, closed, 'teacher vs closed form');
    expectCrossBackendClose(webgpu.teacherAfter, cpu.teacherAfter, 'teacher');
  });

  it('afan: at strength 1 the swapped features carry the adversarial features’ per-position moments', async () => {
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const clean = tf.tensor4d(seededArray(10, 2 * 3 * 3 * 5), [2, 3, 3, 5]);
      const adv = tf.tidy(() => tf.add(tf.mul(tf.tensor4d(seededArray(11, 2 * 3 * 3 * 5), [2, 3, 3, 5]), 2), 0.5));
      const mixed = featureStatSwap(clean, adv, { axes: 'pono', strength: 1 });
      const moments = tf.tidy(() => {
        const a = tf.moments(adv, -1);
        const b = tf.moments(mixed, -1);
        return [a.mean, a.variance, b.mean, b.variance];
      });
      const out = await values([...moments, mixed]);
      tf.dispose([clean, adv, mixed, ...moments]);
      return out;
    });
    const [aMean, aVar, mMean, mVar] = webgpu;
    expectCrossBackendClose([mMean!, mVar!], [aMean!, aVar!], 'moments of the swapped vs adversarial features');
    expectCrossBackendClose(webgpu, cpu, 'features');
  });

  it('prune: magnitude masks hit the exact sparsity and pruned weights stay exactly 0 under Adam', async () => {
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const model = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: init(12) }), tf.layers.dense({ units: 3, kernelInitializer: init(13) })],
      });
      await readBack(model.weights.map((w) => w.read())); // magnitudeMasks reads the weights synchronously
      const masks = magnitudeMasks(model, { sparsity: 0.75, scope: 'global' });
      applyMasks(model, masks);
      const { x, y } = xy(16, 4, 3, 14);
      const opt = withHooks(tf.train.adam(0.05), maskHook(masks));
      await fit(opt, () => ce(y, model.apply(x) as tf.Tensor), 3);
      const names = [...masks.keys()];
      const maskValues = await values([...masks.values()]);
      const byName = new Map(model.weights.map((w) => [w.originalName, w.read()]));
      const kernels = await values(names.map((n) => byName.get(n) ?? tf.engine().registeredVariables[n]!));
      tf.dispose([x, y]);
      opt.dispose();
      disposeMasks(masks);
      model.dispose();
      return { maskValues, kernels };
    });
    const kept = webgpu.maskValues.reduce((s, m) => s + m.filter((v) => v !== 0).length, 0);
    const total = webgpu.maskValues.reduce((s, m) => s + m.length, 0);
    expect(total - kept).toBe(Math.round(0.75 * total)); // (4·8 + 8·3) = 56 kernel weights, 42 pruned
    webgpu.kernels.forEach((k, l) => k.forEach((v, i) => webgpu.maskValues[l]![i] === 0 && expect(v).toBe(0)));
    expectCrossBackendClose(webgpu.maskValues, cpu.maskValues, 'masks');
    expectCrossBackendClose(webgpu.kernels, cpu.kernels, 'kernels');
  });

  it('prune: gradual pruning (masks read back ahead of each update on webgpu) reaches round(s·N) zeros per kernel, as on cpu', async () => {
    // updates at steps 0 (read ahead on creation, awaited by settle()), 2 and 4 (read ahead after steps 1 and 3, while
    // the loop awaits the loss); 6 steps in all
    const schedule = polynomialDecay({ initialSparsity: 0.25, finalSparsity: 0.75, beginStep: 0, endStep: 4, frequency: 2 });
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const model = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: init(15) }), tf.layers.dense({ units: 3, kernelInitializer: init(16) })],
      });
      const { x, y } = xy(16, 4, 3, 17);
      const opt = gradualPruning(tf.train.momentum(0.05, 0.9), model, schedule);
      await opt.hook<GradualPruningHook>('gradual-prune')!.settle();
      await fit(opt, () => ce(y, model.apply(x) as tf.Tensor), 6);
      const masks = opt.hook<GradualPruningHook>('gradual-prune')!.currentMasks();
      const maskValues = await values([...masks.values()]);
      const kernels = await values(model.layers.map((l) => l.getWeights()[0]!));
      tf.dispose([x, y]);
      disposeMasks(masks);
      opt.dispose();
      model.dispose();
      return { maskValues, kernels };
    });
    expect(webgpu.maskValues.map((m) => m.filter((v) => v === 0).length)).toEqual([24, 18]); // round(0.75·32), round(0.75·24)
    webgpu.kernels.forEach((k, l) => k.forEach((v, i) => webgpu.maskValues[l]![i] === 0 && expect(v).toBe(0)));
    expectCrossBackendClose(webgpu.maskValues, cpu.maskValues, 'masks');
    expectCrossBackendClose(webgpu.kernels, cpu.kernels, 'kernels');
  });

  it('prune: a gradual update that runs before its read-back is done throws STATE_MISMATCH and changes nothing', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, kernelInitializer: init(18) })] });
    const { x, y } = xy(8, 4, 3, 19);
    const warm = tf.train.sgd(0.1);
    const l0 = warm.minimize(() => ce(y, model.apply(x) as tf.Tensor), true)!; // the weights now live on the GPU only
    await l0.data();
    tf.dispose([l0]);
    warm.dispose();
    const snapshot = model.getWeights().map((w) => tf.clone(w));
    const opt = gradualPruning(tf.train.sgd(0.1), model, polynomialDecay({ initialSparsity: 0.5, finalSparsity: 0.5, beginStep: 0, endStep: 0 }));
    // no await between creating the hook and its first (update) step: its read-ahead cannot have landed
    expect(() => opt.minimize(() => ce(y, model.apply(x) as tf.Tensor))).toThrow(expect.objectContaining({ code: 'STATE_MISMATCH' }));
    expect(opt.iterations).toBe(0);
    expect(await values(model.getWeights())).toEqual(await values(snapshot));
    tf.dispose(snapshot);
    await opt.hook<GradualPruningHook>('gradual-prune')!.settle(); // then it runs
    const l = opt.minimize(() => ce(y, model.apply(x) as tf.Tensor), true)!;
    await l.data();
    const zeros = (await values([model.getWeights()[0]!]))[0]!.filter((v) => v === 0).length;
    expect(zeros).toBe(6); // round(0.5·12)
    tf.dispose([l, x, y]);
    opt.dispose();
    model.dispose();
  });

  it('unify: after ADMM (Z/U updates deferred on webgpu) the hard projection puts W exactly in S', async () => {
    const args = { blockSize: 4, pruneRatio: 0.25, unifyRatio: 0.5, rho: 0.1, updateEvery: 2 } as const;
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const w = tf.tidy(() => tf.variable(tf.tensor2d(seededArray(15, 8 * 8), [8, 8]), true));
      const target = tf.tensor2d(seededArray(16, 8 * 8), [8, 8]);
      await readBack([w]); // the hook projects W synchronously when it is built
      const opt = admmUnify(tf.train.sgd(0.1), { params: [w], ...args });
      await fit(opt, () => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(w, target))))) as tf.Scalar, 4);
      await opt.admm.settle();
      const plan = opt.hardProject();
      const residuals = opt.residuals.map((r) => [r.step, r.primal, r.dual]).flat();
      const [wv] = await values([w]);
      opt.dispose();
      tf.dispose([w, target]);
      return { wv: wv!, states: Array.from(plan.layers[0]!.states), residuals };
    });
    const view = blockView([8, 8], { blockSize: 4 });
    const states = webgpu.states;
    expect(states.filter((s) => s === BlockState.prune).length).toBe(Math.round(0.25 * view.numBlocks));
    for (let b = 0; b < view.numBlocks; b++) {
      const mags = Array.from(view.indices.subarray(b * view.blockLength, (b + 1) * view.blockLength), (i) => Math.abs(webgpu.wv[i]!));
      if (states[b] === BlockState.prune) expect(mags.every((x) => x === 0)).toBe(true);
      if (states[b] === BlockState.unify) expect(new Set(mags).size).toBe(1);
    }
    expect(webgpu.residuals.filter((_, i) => i % 3 === 0)).toEqual([2, 4]); // updates after steps 2 and 4
    expectCrossBackendClose([webgpu.residuals, webgpu.wv], [cpu.residuals, cpu.wv], 'residuals and W');
    expect(webgpu.states).toEqual(cpu.states);
  });

  it('unify: fine-tuning with a learned magnitude per unified block (block sums on the GPU) keeps each block one magnitude', async () => {
    const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
      const w = tf.tidy(() => tf.variable(tf.tensor2d(seededArray(21, 8 * 8), [8, 8]), true));
      const target = tf.tensor2d(seededArray(22, 8 * 8), [8, 8]);
      await readBack([w]); // the hooks project W synchronously when they are built
      const admm = admmUnify(tf.train.sgd(0.1), { params: [w], blockSize: 4, pruneRatio: 0.25, unifyRatio: 0.5, rho: 0.1 });
      const plan = admm.hardProject();
      admm.dispose();
      const opt = withHooks(tf.train.sgd(0.1), unifiedHook(plan, { trainSharedMagnitude: true }));
      await fit(opt, () => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(w, target))))) as tf.Scalar, 2);
      const [wv] = await values([w]);
      opt.dispose();
      tf.dispose([w, target]);
      return { wv: wv!, states: Array.from(plan.layers[0]!.states) };
    });
    const view = blockView([8, 8], { blockSize: 4 });
    for (let b = 0; b < view.numBlocks; b++) {
      const mags = Array.from(view.indices.subarray(b * view.blockLength, (b + 1) * view.blockLength), (i) => Math.abs(webgpu.wv[i]!));
      if (webgpu.states[b] === BlockState.prune) expect(mags.every((x) => x === 0)).toBe(true);
      if (webgpu.states[b] === BlockState.unify) expect(Math.max(...mags) - Math.min(...mags)).toBeLessThanOrEqual(1e-6 * Math.max(...mags));
    }
    expect(webgpu.states).toEqual(cpu.states);
    expectCrossBackendClose([webgpu.wv], [cpu.wv], 'W after fine-tuning');
  });
});
