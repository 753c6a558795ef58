/**
 * Micro-structured weight unification + pruning trained with ADMM (Lin et al. 2021) on Fashion-MNIST, against the dense
 * model, unstructured magnitude pruning to the same stored size, and one-shot projection + fine-tuning at the same ratio.
 * Every arm starts from the same dense model per seed; after the dense phase every compressed arm gets the same number of
 * training steps. Compression ratios are real: dense float32 bytes / bytes written by `encodeUnified`, and accuracy is
 * measured on the weights decoded from those bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { withHooks } from '@trainkit/core';
import { applyMasks, disposeMasks, magnitudeMasks, maskHook } from '@trainkit/prune';
import {
  BlockState,
  admmUnify,
  blockView,
  compressionStats,
  decodeUnified,
  encodeUnified,
  unifiableParams,
  unifiedHook,
  unifyProjection,
  type LayerPlan,
  type UnifyPlan,
} from '@trainkit/unify';
import { augmentFor, loadExperimentData, resolveDataset, type DataSettings, type Split } from '../data';
import {
  defineExperiment,
  type ArmSpec,
  type ClaimVerdict,
  type DataInfo,
  type PlotSpec,
  type ProfileSettings,
  type RunContext,
  type RunRecord,
} from '../experiment';
import { resnet, smallCnn } from '../models';
import { scatter } from '../plots';
import { armMetric, effectOf, formatDetectable, formatEffect, judgeEffect, judgeNonInferiority, NO_RUNS, pairedDiffs } from '../stats';
import { evaluate, train } from '../train';
import { hostReady } from '../readback';

type ModelKind = 'cnn' | 'resnet';
type Method = 'dense' | 'magnitude' | 'oneshot' | 'admm';

/** One compression operating point (per-layer block ratios of the unification arms). */
export interface UnifyPoint {
  id: string;
  pruneRatio: number;
  unifyRatio: number;
}

/** Per-profile settings (`dataset`, `augment`: see {@link DataSettings}; absent = Fashion-MNIST, no augmentation). */
export interface UnifySettings extends ProfileSettings, DataSettings {
  trainSize: number;
  testSize: number;
  batchSize: number;
  models: ModelKind[];
  /** Dense pre-training (shared by all arms of a seed). */
  denseEpochs: number;
  denseLr: number;
  /** ADMM phase of the ADMM arm; the other compressed arms fine-tune for admmEpochs + fineTuneEpochs instead. */
  admmEpochs: number;
  admmLr: number;
  fineTuneEpochs: number;
  fineTuneLr: number;
  rho: number;
  rhoGrowth: number;
  rhoMax: number;
  /** Z/U updates per epoch of the ADMM phase. */
  admmUpdatesPerEpoch: number;
  /** Rescale the scaled dual U when ρ grows (Boyd §3.4.1); this group's code does not. */
  rescaleDual: boolean;
  /** Block size along input channels: blocks (1, blockSize, 1). */
  blockSize: number;
  /** Fine-tuning of unified blocks: learn one magnitude per block (true) or freeze them (false). */
  trainSharedMagnitude: boolean;
  points: UnifyPoint[];
  resnetDepth: number;
  resnetWidth: number;
}

interface UnifyArm extends ArmSpec {
  model: ModelKind;
  method: Method;
  point?: string;
}

const METHOD_LABEL: Record<Method, string> = {
  dense: 'dense (same steps)',
  magnitude: 'magnitude pruning (same bytes)',
  oneshot: 'one-shot projection + fine-tune',
  admm: 'ADMM prune+unify + fine-tune',
};
const MODEL_LABEL: Record<ModelKind, string> = { cnn: 'small CNN', resnet: 'ResNet-8' };

const POINT_4X: UnifyPoint = { id: 'p50u40', pruneRatio: 0.5, unifyRatio: 0.4 };
const POINT_6X: UnifyPoint = { id: 'p60u35', pruneRatio: 0.6, unifyRatio: 0.35 };

const common = {
  batchSize: 64,
  denseLr: 2e-3,
  admmLr: 2e-3,
  fineTuneLr: 5e-4,
  rhoGrowth: 2,
  rhoMax: 4,
  rescaleDual: true,
  blockSize: 4,
  trainSharedMagnitude: true,
  resnetDepth: 8,
  resnetWidth: 16,
};

function data(s: UnifySettings, dataDir: string | undefined): Promise<{ train: Split; test: Split; info: DataInfo }> {
  return loadExperimentData(s, dataDir, { cached: true, fashionDataDir: false, what: 'unify' });
}

function build(kind: ModelKind, s: UnifySettings, seed: number, split: Pick<Split, 'shape' | 'classes'>): tf.LayersModel {
  const args = { inputShape: [...split.shape] as [number, number, number], classes: split.classes, norm: 'batch' as const, seed };
  return kind === 'cnn' ? smallCnn(args) : resnet({ ...args, depth: s.resnetDepth, width: s.resnetWidth });
}

interface Dense {
  weights: { values: Float32Array; shape: number[] }[];
  acc: number;
  seconds: number;
  stepMs: number;
}
const denseCache = new Map<string, Promise<Dense>>();

/** Trains (once per model, seed and settings) the dense model every arm of that seed starts from. */
function denseModel(kind: ModelKind, s: UnifySettings, seed: number, ctx: RunContext<UnifySettings>): Promise<Dense> {
  const key = JSON.stringify([kind, seed, s.trainSize, s.testSize, s.batchSize, s.denseEpochs, s.denseLr, s.resnetDepth, s.resnetWidth, ctx.backend.name, resolveDataset(s, ctx.dataDir), s.augment ?? 'none']);
  let p = denseCache.get(key);
  if (!p) {
    p = (async () => {
      const { train: tr, test } = await data(s, ctx.dataDir);
      const model = build(kind, s, seed, tr);
      const opt = tf.train.adam(s.denseLr);
      const t0 = performance.now();
      try {
        const r = await train({ model, optimizer: opt, train: tr, epochs: s.denseEpochs, batchSize: s.batchSize, seed, augment: augmentFor(s), progress: ctx.progress });
        const acc = (await evaluate(model, test)).acc;
        const weights = await Promise.all(model.getWeights().map(async (t) => ({ values: Float32Array.from((await t.data()) as Float32Array), shape: t.shape })));
        return { weights, acc, seconds: (performance.now() - t0) / 1000, stepMs: r.stepMs };
      } finally {
        opt.dispose();
        model.dispose();
      }
    })();
    denseCache.set(key, p);
    p.catch(() => denseCache.delete(key));
  }
  return p;
}

/** A plan with the given counts (state positions arbitrary): storage depends only on counts, shapes and names. */
function countPlan(v: tf.Variable, blockSize: number, numPrune: number, numUnify: number): LayerPlan {
  const view = blockView(v.shape, { blockSize });
  const states = new Uint8Array(view.numBlocks);
  states.fill(BlockState.prune, 0, numPrune);
  states.fill(BlockState.unify, numPrune, numPrune + numUnify);
  return {
    name: v.name,
    shape: v.shape,
    blockShape: view.blockShape,
    numBlocks: view.numBlocks,
    states,
    magnitudes: new Float32Array(view.numBlocks),
    signs: new Int8Array(v.size),
    pruneCount: numPrune,
    unifyCount: numUnify,
    cost: 0,
  };
}

/** The smallest layerwise sparsity whose magnitude-pruned encoding is no larger than `targetBytes`. */
function matchSparsity(model: tf.LayersModel, kernels: tf.Variable[], targetBytes: number): number {
  const bytesAt = (s: number): number =>
    compressionStats(model, { layers: kernels.map((v) => countPlan(v, 1, Math.min(Math.round(s * v.size), v.size - 1), 0)) }).encodedBytes;
  let lo = 0;
  let hi = 0.999;
  if (bytesAt(hi) > targetBytes) return hi;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (bytesAt(mid) <= targetBytes) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The (1,1,1)-block plan of magnitude masks (0 = pruned), so the pruned model is stored by the same encoder. */
function planFromMask(v: tf.Variable, mask: Float32Array): LayerPlan {
  const view = blockView(v.shape, { blockSize: 1 });
  const states = new Uint8Array(view.numBlocks);
  let pruned = 0;
  for (let b = 0; b < view.numBlocks; b++) {
    if (mask[view.indices[b]!] === 0) {
      states[b] = BlockState.prune;
      pruned++;
    }
  }
  return { name: v.name, shape: v.shape, blockShape: view.blockShape, numBlocks: view.numBlocks, states, magnitudes: new Float32Array(view.numBlocks), signs: new Int8Array(v.size), pruneCount: pruned, unifyCount: 0, cost: 0 };
}

async function runArm(ctx: RunContext<UnifySettings>): Promise<{ metrics: Record<string, number>; extra: Record<string, unknown>; data: DataInfo }> {
  const s = ctx.settings;
  const arm = ctx.arm as UnifyArm;
  const { train: tr, test, info } = await data(s, ctx.dataDir);
  const dense = await denseModel(arm.model, s, ctx.seed, ctx);
  const model = build(arm.model, s, ctx.seed, tr);
  if (arm.method === 'dense') {
    // The dense arm keeps training for the same number of steps the compressed arms get after pre-training.
    const opt = tf.train.adam(s.fineTuneLr);
    try {
      tf.tidy(() => model.setWeights(dense.weights.map((w) => tf.tensor(w.values, w.shape))));
      const r = await train({ model, optimizer: opt, train: tr, epochs: s.admmEpochs + s.fineTuneEpochs, batchSize: s.batchSize, seed: ctx.seed * 7919 + 2, augment: augmentFor(s), progress: ctx.progress });
      const acc = (await evaluate(model, test)).acc;
      return { metrics: { testAcc: acc, ratio: 1, denseAcc: dense.acc, seconds: dense.seconds, stepMs: r.stepMs }, extra: {}, data: info };
    } finally {
      opt.dispose();
      model.dispose();
    }
  }
  const point = s.points.find((p) => p.id === arm.point);
  if (!point) {
    model.dispose();
    throw new Error(`unify experiment: unknown point ${arm.point}`);
  }
  const t0 = performance.now();
  const extra: Record<string, unknown> = {};
  const metrics: Record<string, number> = { denseAcc: dense.acc };
  let plan: UnifyPlan;
  let optimizer: tf.Optimizer | undefined;
  try {
    tf.tidy(() => model.setWeights(dense.weights.map((w) => tf.tensor(w.values, w.shape))));
    await hostReady(model); // the sync reads below (webgpu)
    const kernels = unifiableParams(model).map((p) => p.variable);
    const stepsPerEpoch = Math.ceil(tr.n / s.batchSize);
    const ftEpochs = arm.method === 'admm' ? s.fineTuneEpochs : s.admmEpochs + s.fineTuneEpochs;
    const blockArgs = { blockSize: s.blockSize, pruneRatio: point.pruneRatio, unifyRatio: point.unifyRatio };

    if (arm.method === 'magnitude') {
      const target = compressionStats(model, {
        layers: kernels.map((v) => {
          const B = blockView(v.shape, { blockSize: s.blockSize }).numBlocks;
          const nP = Math.round(point.pruneRatio * B);
          return countPlan(v, s.blockSize, nP, Math.min(Math.round(point.unifyRatio * B), B - nP));
        }),
      }).encodedBytes;
      const sparsity = matchSparsity(model, kernels, target);
      const masks = magnitudeMasks(kernels, { sparsity });
      applyMasks(kernels, masks);
      await hostReady(masks);
      plan = { layers: kernels.map((v) => planFromMask(v, masks.get(v.name)!.dataSync() as Float32Array)) };
      optimizer = withHooks(tf.train.adam(s.fineTuneLr), maskHook(masks));
      disposeMasks(masks);
      metrics['sparsity'] = sparsity;
      metrics['targetBytes'] = target;
    } else if (arm.method === 'oneshot') {
      const layers = kernels.map((v) => {
        const { weights, plan: p } = unifyProjection(v, blockArgs);
        v.assign(weights);
        weights.dispose();
        return p;
      });
      plan = { layers };
      metrics['projectedAcc'] = (await evaluate(model, test)).acc;
      optimizer = withHooks(tf.train.adam(s.fineTuneLr), unifiedHook(plan, { trainSharedMagnitude: s.trainSharedMagnitude }));
    } else {
      const updateEvery = Math.max(1, Math.floor(stepsPerEpoch / s.admmUpdatesPerEpoch));
      const admm = admmUnify(tf.train.adam(s.admmLr), { params: kernels, ...blockArgs, rho: s.rho, rhoGrowth: s.rhoGrowth, rhoMax: s.rhoMax, rescaleDual: s.rescaleDual, updateEvery });
      try {
        await train({ model, optimizer: admm, train: tr, epochs: s.admmEpochs, batchSize: s.batchSize, seed: ctx.seed * 7919 + 1, augment: augmentFor(s), progress: ctx.progress });
        await admm.admm.settle(); // a no-op where dataSync() works
        plan = admm.hardProject();
        const res = admm.residuals;
        extra['residuals'] = res;
        if (res.length > 0) {
          metrics['primalFirst'] = res[0]!.primal;
          metrics['primalLast'] = res[res.length - 1]!.primal;
          metrics['admmUpdates'] = res.length;
        }
      } finally {
        admm.dispose();
      }
      metrics['projectedAcc'] = (await evaluate(model, test)).acc;
      optimizer = withHooks(tf.train.adam(s.fineTuneLr), unifiedHook(plan, { trainSharedMagnitude: s.trainSharedMagnitude }));
    }
    const ft = await train({ model, optimizer, train: tr, epochs: ftEpochs, batchSize: s.batchSize, seed: ctx.seed * 7919 + 2, augment: augmentFor(s), progress: ctx.progress });
    metrics['stepMs'] = ft.stepMs;

    // Store, read back, and measure the model decoded from the bytes.
    await hostReady(model);
    const bytes = encodeUnified(model, plan);
    const stats = compressionStats(model, plan);
    if (stats.encodedBytes !== bytes.byteLength) throw new Error('unify experiment: compressionStats disagrees with the bytes written');
    const decoded = decodeUnified(bytes);
    model.setWeights(decoded.weights.map((w) => w.tensor));
    tf.dispose(decoded.weights.map((w) => w.tensor));
    metrics['testAcc'] = (await evaluate(model, test)).acc;
    Object.assign(metrics, {
      ratio: stats.ratio,
      encodedBytes: bytes.byteLength,
      denseBytes: stats.denseBytes,
      bitsRatio: stats.bitsRatio,
      valuesRatio: stats.valuesRatio,
      macRatio: stats.multiplies.ratio,
      seconds: (performance.now() - t0) / 1000,
    });
    extra['layers'] = stats.layers.filter((l) => l.blocks > 0).map((l) => ({ name: l.name, blocks: l.blocks, pruned: l.pruned, unified: l.unified, kept: l.kept, bytes: l.bytes, size: l.size }));
    return { metrics, extra, data: info };
  } finally {
    optimizer?.dispose();
    model.dispose();
  }
}

// ---- statistics: paired over seeds (every arm of a seed starts from the same dense model and sees the same batches) ----

const PTS = { scale: 100, unit: ' points' };

/** The claim "arm a beats arm b on test accuracy". */
function beats(runs: RunRecord[], claimId: string, a: string, b: string, what: string): ClaimVerdict {
  const e = effectOf(pairedDiffs(runs, a, b, 'testAcc'));
  if (e.n === 0) return { claimId, measured: `no paired runs of ${a} and ${b}`, verdict: 'inconclusive', verdictText: NO_RUNS, rule: 'paired-95' };
  const j = judgeEffect({ effect: e, direction: 'greater' });
  return { claimId, measured: `${what}: ${formatEffect(e, PTS)}`, verdict: j.verdict, verdictText: j.text, rule: 'paired-95', detectable: formatDetectable(e, PTS) };
}

/** The claim "drop vs dense < 1 point at a real ratio >= 4": non-inferiority of ADMM − dense with a 1-point margin. */
function within1(runs: RunRecord[], claimId: string, admm: string, dense: string): ClaimVerdict {
  const e = effectOf(pairedDiffs(runs, admm, dense, 'testAcc'));
  if (e.n === 0) return { claimId, measured: `no paired runs of ${admm} and ${dense}`, verdict: 'inconclusive', verdictText: NO_RUNS, rule: 'ratio-and-non-inferiority' };
  const ratio = Math.min(...armMetric(runs, admm, 'ratio'));
  const measured = `ADMM − dense ${formatEffect(e, PTS)} at a real ratio of ${ratio.toFixed(2)}x`;
  if (!(ratio >= 4)) return { claimId, measured, verdict: 'not reproduced', verdictText: 'not reproduced (ratio < 4x)', rule: 'ratio-and-non-inferiority', detectable: formatDetectable(e, PTS) };
  const j = judgeNonInferiority(e, 0.01);
  return { claimId, measured, verdict: j.verdict, verdictText: j.text, rule: 'ratio-and-non-inferiority', detectable: formatDetectable(e, PTS) };
}

const armId = (model: ModelKind, method: Method, point?: string): string => (point ? `${model}-${method}-${point}` : `${model}-${method}`);

export default defineExperiment<UnifySettings>({
  id: 'unify',
  title: 'Micro-structured weight unification + pruning with ADMM',
  paper: {
    title: 'Efficient Micro-Structured Weight Unification and Pruning for Neural Network Compression',
    authors: 'S. Lin, W. Jiang, W. Wang, K. Xu, Y. Wang, S. Liu, S. Li',
    year: 2021,
    url: 'https://arxiv.org/abs/2106.08301',
  },
  claims: (['cnn', 'resnet'] as const).flatMap((m) => [
    {
      id: `${m}-within-1pt`,
      text: `${MODEL_LABEL[m]}: ADMM prune+unify keeps test accuracy within 1 point of dense at a real compression ratio ≥ 4x.`,
      paper: '"high compression ratio and low performance degradation" (abstract; no number is available for this setting)',
    },
    {
      id: `${m}-admm-beats-oneshot`,
      text: `${MODEL_LABEL[m]}: ADMM prune+unify + fine-tune beats one-shot projection + fine-tune at the same ratio and training budget.`,
      paper: 'ADMM vs. one-shot projection (spec §4 baseline; standard for ADMM pruning)',
    },
    {
      id: `${m}-beats-magnitude`,
      text: `${MODEL_LABEL[m]}: ADMM prune+unify beats unstructured magnitude pruning stored in the same number of bytes.`,
      paper: '"the combination works better than either alone" (paper summary; unverified numbers)',
    },
  ]),
  profiles: {
    smoke: {
      ...common,
      seeds: 1,
      trainSize: 128,
      testSize: 100,
      models: ['cnn'],
      denseEpochs: 1,
      admmEpochs: 1,
      fineTuneEpochs: 1,
      admmUpdatesPerEpoch: 1,
      rho: 0.1,
      points: [POINT_4X],
    },
    quick: {
      ...common,
      seeds: 3,
      trainSize: 1000,
      testSize: 1000,
      models: ['cnn'],
      denseEpochs: 2,
      admmEpochs: 2,
      fineTuneEpochs: 1,
      admmUpdatesPerEpoch: 2,
      rho: 0.1,
      points: [POINT_4X],
    },
    standard: {
      ...common,
      seeds: 3,
      trainSize: 4000,
      testSize: 10000,
      models: ['cnn', 'resnet'],
      denseEpochs: 6,
      admmEpochs: 4,
      fineTuneEpochs: 2,
      admmUpdatesPerEpoch: 2,
      rho: 0.1,
      points: [POINT_4X, POINT_6X],
    },
  },
  rules: {
    'ratio-and-non-inferiority': 'Not reproduced when the real compression ratio is below 4x; otherwise non-inferiority-95 with a 1-point margin on ADMM − dense.',
  },
  arms(settings) {
    return settings.models.flatMap((m) => [
      { id: armId(m, 'dense'), label: `${MODEL_LABEL[m]} dense`, model: m, method: 'dense' as Method },
      ...settings.points.flatMap((p) =>
        (['magnitude', 'oneshot', 'admm'] as const).map((method) => ({
          id: armId(m, method, p.id),
          label: `${MODEL_LABEL[m]} ${METHOD_LABEL[method]} (r_p ${p.pruneRatio}, r_u ${p.unifyRatio})`,
          model: m,
          method,
          point: p.id,
        })),
      ),
    ]);
  },
  async run(ctx) {
    const out = await runArm(ctx);
    ctx.log(`${ctx.arm.id} seed ${ctx.seed}: acc ${(100 * (out.metrics['testAcc'] ?? NaN)).toFixed(2)}%, ratio ${(out.metrics['ratio'] ?? 1).toFixed(2)}x`);
    return { metrics: out.metrics, extra: out.extra, data: out.data };
  },
  judge(runs, settings) {
    const point = settings.points[0]!.id;
    return (['cnn', 'resnet'] as const).flatMap((m) => [
      within1(runs, `${m}-within-1pt`, armId(m, 'admm', point), armId(m, 'dense')),
      beats(runs, `${m}-admm-beats-oneshot`, armId(m, 'admm', point), armId(m, 'oneshot', point), 'ADMM − one-shot'),
      beats(runs, `${m}-beats-magnitude`, armId(m, 'admm', point), armId(m, 'magnitude', point), 'ADMM − magnitude pruning'),
    ]);
  },
  plots(runs, settings): PlotSpec[] {
    return settings.models.map((m) => ({
      id: `unify-${m}-acc-vs-ratio`,
      title: `${MODEL_LABEL[m]}: test accuracy vs real compression ratio, per arm (one point per seed)`,
      spec: scatter({
        data: runs
          .filter((r) => r.armId.startsWith(`${m}-`))
          .map((r) => ({ arm: METHOD_LABEL[r.armId.split('-')[1] as Method] ?? r.armId, seed: r.seed, ratio: r.metrics['ratio'] ?? 1, acc: r.metrics['testAcc'] ?? 0 })),
        x: 'ratio',
        y: 'acc',
        color: 'arm',
        xTitle: 'compression ratio (dense float32 bytes / encoded bytes)',
        yTitle: 'test accuracy (decoded weights)',
      }),
    }));
  },
});
