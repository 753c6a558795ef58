// Training cases: each trains a few steps, returns the loss trajectory, the final weights and its method invariant.
// The harness runs each on the page's backend and on cpu and compares them.
import * as tf from '@tensorflow/tfjs';
import { readBack, withHooks } from '@trainkit/core';
import { lawn } from '@trainkit/lawn';
import { applyMasks, magnitudeMasks, maskHook, sparsityOf } from '@trainkit/prune';
import { emaTeacher, emanHook } from '@trainkit/eman/layers';
import { decodeUnified, encodeUnified, unifyProjection } from '@trainkit/unify';
import { afanLoss } from '@trainkit/afan';
import { splitModel } from '@trainkit/afan/layers';
import { mimicNorm } from '@trainkit/mimicnorm';
import { lastBatchNorm } from '@trainkit/mimicnorm/layers';

const glorot = (seed) => tf.initializers.glorotUniform({ seed });
// Adam divides by sqrt(v): a gradient that is ~0 on one backend and ~1e-9 on another moves a weight by ±lr on one only.
// epsilon 1e-3 keeps such noise-level gradients small, so the comparison checks the kernels, not that amplification.
const adam = (lr) => tf.train.adam(lr, 0.9, 0.999, 1e-3);
// Reads are async, as on webgpu they must be: tfjs-webgpu's dataSync() goes through OffscreenCanvas copies, which in
// headless Chromium on SwiftShader return zeros for ~1000 values and more and destroy the device.
const read = async (t) => Array.from(await t.data());
const weightsOf = (model) => Promise.all(model.getWeights().map(read));
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function fitLosses(model, x, y, epochs, batchSize) {
  const h = await model.fit(x, y, { epochs, batchSize, verbose: 0, shuffle: false });
  return h.history.loss.map(Number);
}

/** A small conv net (conv, max-pool, conv, dense) trained 3 Adam steps: the generic training path. */
export async function convnet() {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: glorot(1) }),
    tf.layers.maxPooling2d({ poolSize: 2 }),
    tf.layers.conv2d({ filters: 4, kernelSize: 2, strides: 1, padding: 'same', activation: 'relu', kernelInitializer: glorot(2) }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 3, kernelInitializer: glorot(3) }),
  ] });
  model.compile({ optimizer: adam(0.01), loss: 'meanSquaredError' });
  const x = tf.randomNormal([16, 8, 8, 1], 0, 1, 'float32', 11);
  const y = tf.randomNormal([16, 3], 0, 1, 'float32', 12);
  const losses = await fitLosses(model, x, y, 3, 16);
  const invariant = losses.every(Number.isFinite) && losses.at(-1) < losses[0] ? '' : `loss did not fall: ${losses}`;
  return { losses, weights: await weightsOf(model), invariant };
}

/** LAWN: after the free steps every kernel keeps the norm it had when frozen. */
export async function lawnCase() {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', useBias: false, kernelInitializer: glorot(4) }),
    tf.layers.dense({ units: 3, useBias: false, kernelInitializer: glorot(5) })] });
  const opt = lawn(adam(0.01), { params: model, freeSteps: 2 });
  model.compile({ optimizer: opt, loss: tf.losses.softmaxCrossEntropy });
  const x = tf.randomNormal([16, 4], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.argMax(x.slice([0, 0], [-1, 3]), 1), 3);
  const losses = await fitLosses(model, x, y, 5, 16);
  const frozen = opt.frozenNorms().map((f) => f.norms[0]);
  const now = (await Promise.all(model.layers.map((l) => read(tf.norm(l.getWeights()[0]))))).map((v) => v[0]);
  const bad = now.map((n, i) => Math.abs(n - frozen[i]) / frozen[i]).filter((r) => !(r <= 1e-4));
  const invariant = opt.phase !== 'constrained' ? `phase ${opt.phase}` : bad.length ? `norms drifted: now ${now} frozen ${frozen}` : '';
  return { losses, weights: await weightsOf(model), invariant };
}

/** prune maskHook: exactly 75% of the kernel weights stay 0 under Adam. */
export async function pruneCase() {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ units: 8, inputShape: [4], activation: 'relu', kernelInitializer: glorot(6) }),
    tf.layers.dense({ units: 1, kernelInitializer: glorot(7) })] });
  const masks = magnitudeMasks(model, { sparsity: 0.75, scope: 'global' });
  applyMasks(model, masks);
  model.compile({ optimizer: withHooks(adam(0.01), maskHook(masks)), loss: 'meanSquaredError' });
  const losses = await fitLosses(model, tf.randomNormal([16, 4], 0, 1, 'float32', 2), tf.randomNormal([16, 1], 0, 1, 'float32', 3), 3, 8);
  await readBack(model.weights.map((w) => w.read())); // sparsityOf reads synchronously (the README's recipe)
  const s = sparsityOf(model).sparsity;
  return { losses, weights: await weightsOf(model), invariant: s === 0.75 ? '' : `sparsity ${s}, expected exactly 0.75` };
}

/** EMAN: after one step the teacher is m·w0 + (1 − m)·w1, BN statistics included. */
export async function emanCase() {
  const student = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], kernelInitializer: glorot(8) }),
    tf.layers.batchNormalization(), tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: glorot(9) })] });
  const m = 0.9;
  const teacher = emaTeacher(student, { momentum: m });
  student.compile({ optimizer: withHooks(tf.train.sgd(0.1), emanHook(teacher)), loss: 'categoricalCrossentropy' });
  const w0 = await weightsOf(student);
  const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0, 1, 0, 0, 1], 'int32'), 2);
  const losses = await fitLosses(student, tf.randomNormal([8, 3], 0, 1, 'float32', 4), y, 1, 8);
  const w1 = await weightsOf(student);
  const t = await Promise.all(teacher.getWeights().slice(1).map((w) => read(w.tensor)));
  let worst = 0;
  t.forEach((tw, i) => tw.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - (m * w0[i][j] + (1 - m) * w1[i][j]))); }));
  const invariant = teacher.step !== 1 ? `teacher step ${teacher.step}` : worst > 1e-5 ? `teacher off its closed form by ${worst}` : '';
  return { losses, weights: [...w1, ...t], invariant };
}

/** unify: the projected kernel keeps its block structure and survives encode → decode. */
export async function unifyCase() {
  const kernel = tf.variable(tf.randomNormal([3, 3, 8, 8], 0, 0.1, 'float32', 7));
  const { weights, plan } = unifyProjection(kernel, { blockSize: 4, pruneRatio: 0.5, unifyRatio: 0.4 });
  kernel.assign(weights);
  const dec = decodeUnified(encodeUnified([kernel], plan));
  const back = await read(dec.weights[0].tensor);
  const w = await read(kernel);
  const zeros = w.filter((v) => v === 0).length;
  const gap = maxAbs(back, w);
  const invariant = plan.pruneCount <= 0 || zeros < plan.pruneCount * 4 ? `only ${zeros} zeros for ${plan.pruneCount} pruned blocks`
    : gap > 1e-6 ? `decode differs by ${gap}` : '';
  return { losses: [plan.numBlocks, plan.pruneCount, plan.unifyCount], weights: [w], invariant };
}

/** AFAN: both halves train; the split model still computes the whole model. */
export async function afanCase() {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ units: 8, activation: 'relu', inputShape: [4], name: 'features', kernelInitializer: glorot(10) }),
    tf.layers.dense({ units: 3, kernelInitializer: glorot(11) })] });
  const { front, back } = splitModel(model, 'features');
  const x = tf.randomNormal([16, 4], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.argMax(x.slice([0, 0], [-1, 3]), 1), 3);
  const opt = adam(0.02);
  const losses = [];
  for (let step = 0; step < 3; step++) {
    const l = opt.minimize(() => afanLoss({ front, back, x, y, stepSize: 0.05, useNormalization: true }), true);
    losses.push((await read(l))[0]);
  }
  const gap = maxAbs(await read(back.predict(front.predict(x))), await read(model.predict(x)));
  return { losses, weights: await weightsOf(model), invariant: gap > 1e-5 ? `back(front(x)) differs from model(x) by ${gap}` : '' };
}

/** MimicNorm: centred conv filters keep a zero mean under momentum SGD. */
export async function mimicnormCase() {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: glorot(12) }), // 3·3·8 = 72 weights/filter in the next conv: centred
    tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', kernelInitializer: glorot(13) }),
    tf.layers.flatten(), tf.layers.dense({ units: 3, kernelInitializer: glorot(14) }), lastBatchNorm(), tf.layers.activation({ activation: 'softmax' })] });
  model.compile({ optimizer: mimicNorm(tf.train.momentum(0.05, 0.9), { params: model }), loss: 'categoricalCrossentropy' });
  const x = tf.randomNormal([8, 6, 6, 1], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
  const losses = await fitLosses(model, x, tf.cast(y, 'float32'), 3, 8);
  const worst = (await read(tf.max(tf.abs(tf.mean(model.layers[1].getWeights()[0], [0, 1, 2])))))[0];
  return { losses, weights: await weightsOf(model), invariant: worst > 1e-6 ? `filter mean ${worst}, expected ~0` : '' };
}

/** core withHooks: a clipping hook under Adam. */
export async function coreCase() {
  const clip = { name: 'clip', transformGradients: (grads) =>
    Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.clipByValue(g, -0.01, 0.01)])) };
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: glorot(15) })] });
  const w0 = await weightsOf(model);
  model.compile({ optimizer: withHooks(tf.train.sgd(1), clip), loss: 'meanSquaredError' });
  const losses = await fitLosses(model, tf.randomNormal([8, 2], 0, 1, 'float32', 5), tf.fill([8, 1], 10), 1, 8);
  const moved = maxAbs((await weightsOf(model)).flat(), w0.flat());
  // SGD(1) on clipped gradients moves each weight by at most 0.01 (and here by exactly 0.01).
  return { losses, weights: await weightsOf(model), invariant: Math.abs(moved - 0.01) > 1e-6 ? `a weight moved ${moved}, expected 0.01` : '' };
}

export const TRAINING = { convnet, core: coreCase, lawn: lawnCase, prune: pruneCase, eman: emanCase, unify: unifyCase, afan: afanCase, mimicnorm: mimicnormCase };
export { maxAbs };
