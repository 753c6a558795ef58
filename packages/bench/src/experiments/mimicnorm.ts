/**
 * MimicNorm (Fei et al., AAAI 2021): BN-free training with weight centering and one last BN, against BatchNorm and
 * no normalisation, on Fashion-MNIST with the bench's ResNet and VGG models.
 */
import * as tf from '@tensorflow/tfjs';
import { constantSchedule, cosineSchedule, linearWarmup, type Schedule } from '@trainkit/core';
import { mimicNorm } from '@trainkit/mimicnorm';
import { augmentFor, balancedSubset, loadExperimentData, take, type DataSettings, type Split } from '../data';
import { defineExperiment, type ArmSpec, type ClaimVerdict, type CurvePoint, type DataInfo, type PlotSpec, type ProfileSettings, type RunRecord } from '../experiment';
import { countParams, resnet, vgg } from '../models';
import { lineChart, scatter } from '../plots';
import { armMetric, effectOf, formatDetectable, formatEffect, judgeEffect, judgeNonInferiority, pairedDiffs, summarize } from '../stats';
import { crossEntropy, evaluate, measureStepMemory, train, disposeOptimizer, warmupStepSchedule, withWeightDecay } from '../train';

/** Per-profile settings (`dataset`, `augment`: see {@link DataSettings}; absent = Fashion-MNIST, no augmentation). */
export interface MimicNormSettings extends ProfileSettings, DataSettings {
  trainSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  /** Peak learning rate of the base arms (SGD momentum 0.9, linear warm-up then cosine). */
  lr: number;
  /** The larger rate of claim (3) (paper Table 2: plain nets collapse at >= 0.1, MimicNorm still trains at 0.2). */
  highLr: number;
  /** Claim (4): batch size, rate, examples and epochs of the micro-batch arms. */
  microBatchSize: number;
  microLr: number;
  microTrainSize: number;
  microEpochs: number;
  /** Share of the steps spent in linear warm-up of the stress arms (high lr, micro-batch); then cosine decay. */
  warmupFraction: number;
  /**
   * The reference recipe (Kid-key/MimicNorm Cifar100/main.py), shortened, for the base arms (BN, MimicNorm, no norm):
   * SGD momentum 0.9 with coupled weight decay on every parameter, linear warm-up over `warmupEpochs`, then the LR ×0.1
   * at `milestones` (fractions of the run: 80, 110, 135 of 150 epochs).
   */
  weightDecay: number;
  warmupEpochs: number;
  milestones: number[];
  resnetDepth: number;
  resnetWidth: number;
  vggWidth: number;
  /** Batch size of the one-step memory measurement. */
  memoryBatchSize: number;
}

type ModelKind = 'resnet' | 'vgg';
type NormKind = 'batch' | 'mimic' | 'none';
type Group = 'base' | 'high-lr' | 'micro';

interface MimicArm extends ArmSpec {
  model: ModelKind;
  norm: NormKind;
  group: Group;
}

const NORM_LABEL: Record<NormKind, string> = { batch: 'BN', mimic: 'MimicNorm', none: 'no norm' };
const MODEL_LABEL: Record<ModelKind, string> = { resnet: 'ResNet', vgg: 'VGG-11' };
const SHORT: Record<NormKind, string> = { batch: 'bn', mimic: 'mimic', none: 'none' };

function arm(model: ModelKind, norm: NormKind, group: Group): MimicArm {
  const suffix = group === 'base' ? '' : `-${group}`;
  const tail = group === 'base' ? '' : group === 'high-lr' ? ' @ high lr' : ' @ micro-batch';
  return { id: `${model}-${SHORT[norm]}${suffix}`, label: `${MODEL_LABEL[model]} ${NORM_LABEL[norm]}${tail}`, model, norm, group };
}

const ARMS: MimicArm[] = [
  ...(['resnet', 'vgg'] as const).flatMap((m) => (['batch', 'mimic', 'none'] as const).map((n) => arm(m, n, 'base'))),
  arm('vgg', 'none', 'high-lr'),
  arm('vgg', 'mimic', 'high-lr'),
  arm('resnet', 'batch', 'micro'),
  arm('resnet', 'mimic', 'micro'),
];

function data(s: MimicNormSettings, dataDir?: string): Promise<{ train: Split; test: Split; info: DataInfo }> {
  return loadExperimentData(s, dataDir, { cached: true, what: 'mimicnorm' });
}

/** The model for images of `split`'s shape and classes (28×28×1 / 10 on Fashion-MNIST). */
function build(a: MimicArm, s: MimicNormSettings, seed: number, split: Pick<Split, 'shape' | 'classes'>): tf.LayersModel {
  const common = { inputShape: [...split.shape] as [number, number, number], classes: split.classes, norm: a.norm, seed };
  return a.model === 'resnet' ? resnet({ ...common, depth: s.resnetDepth, width: s.resnetWidth }) : vgg({ ...common, widthMultiplier: s.vggWidth });
}

function optimizerFor(a: MimicArm, model: tf.LayersModel, lr: number): tf.Optimizer {
  const inner = tf.train.momentum(lr, 0.9);
  return a.norm === 'mimic' ? mimicNorm(inner, { params: model }) : inner;
}

function schedule(lr: number, totalSteps: number, warmupFraction: number): Schedule {
  const warm = Math.max(1, Math.round(totalSteps * warmupFraction));
  const rest = Math.max(1, totalSteps - warm);
  return linearWarmup({ steps: warm, from: lr * 0.01, then: rest > 1 ? cosineSchedule({ from: lr, to: 0, steps: rest }) : constantSchedule(lr) });
}

/** Peak tensor bytes (and RSS) of one training step of a fresh model at `batchSize`, after one warm-up step. */
async function stepMemory(a: MimicArm, s: MimicNormSettings, seed: number, split: Split): Promise<{ peakBytes: number; stepBytes: number; rssBytes: number }> {
  const model = build(a, s, seed, split);
  const opt = optimizerFor(a, model, s.lr);
  const sub = take(split, Array.from({ length: Math.min(split.n, s.memoryBatchSize) }, (_, i) => i));
  const x = tf.tensor4d(sub.x, [sub.n, ...sub.shape]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(sub.labels, 'int32'), split.classes), 'float32') as tf.Tensor2D);
  const step = (): void => {
    opt.minimize(() => crossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), false);
  };
  try {
    step(); // creates the optimizer's slots, so both arms are measured in steady state
    const before = tf.memory().numBytes;
    const m = await measureStepMemory(step);
    return { peakBytes: m.peakBytes, stepBytes: m.peakBytes - before, rssBytes: m.rssBytes };
  } finally {
    tf.dispose([x, y]);
    disposeOptimizer(opt);
    model.dispose();
  }
}

/** Cifar100/main.py: MultiStepLR at epochs 80, 110, 135 of 150, as fractions of the run. */
const REF_MILESTONES = [80 / 150, 110 / 150, 135 / 150];

const experiment = defineExperiment<MimicNormSettings>({
  id: 'mimicnorm',
  version: 2,
  title: 'MimicNorm: weight mean + last BN instead of BatchNorm',
  paper: {
    title: 'MimicNorm: Weight Mean and Last BN Layer Mimic the Dynamic of Batch Normalization',
    authors: 'Wen Fei, Wenrui Dai, Chenglin Li, Junni Zou, Hongkai Xiong',
    year: 2021,
    url: 'https://arxiv.org/abs/2010.09278',
  },
  claims: [
    { id: 'acc-resnet', text: '(1) ResNet: MimicNorm best test accuracy (over epochs, as the reference reports) within 1 point of BN.', paper: 'CIFAR-100 ResNet18 74.96 vs BN 74.72 (Table 1; best over epochs)' },
    { id: 'acc-vgg', text: '(1) VGG: MimicNorm best test accuracy (over epochs) within 1 point of BN.', paper: 'CIFAR-100 VGG11 67.87 vs BN 67.90 (Table 1; best over epochs)' },
    { id: 'mem-resnet', text: '(2) ResNet: peak memory of one training step at least 15% below BN.', paper: 'about 20% less GPU memory (Tables 1, 3; ResNet18 ImageNet 8057 -> 5603 MB)' },
    { id: 'mem-vgg', text: '(2) VGG: peak memory of one training step at least 15% below BN.', paper: 'VGG11 CIFAR-100 2971 -> 2851 MB (-4%); VGG16 ImageNet -9%' },
    { id: 'high-lr', text: '(3) At a large learning rate the plain no-norm VGG degrades while MimicNorm still trains (>= 5 points better).', paper: 'Table 2, lr 0.2: none 1.77%, MimicNorm 39.41% (CIFAR-100, 10 epochs)' },
    { id: 'micro-batch', text: '(4) At a micro-batch size (2-4), MimicNorm beats BN.', paper: 'abstract: "BN would be inaccurate on micro-batch"; no table in the paper' },
  ],
  profiles: {
    smoke: {
      seeds: 1, trainSize: 20, testSize: 20, epochs: 1, batchSize: 10, lr: 0.05, highLr: 0.2,
      microBatchSize: 4, microLr: 0.01, microTrainSize: 16, microEpochs: 1, warmupFraction: 0.2, weightDecay: 5e-4, warmupEpochs: 0.5, milestones: REF_MILESTONES,
      resnetDepth: 8, resnetWidth: 4, vggWidth: 0.0625, memoryBatchSize: 8,
    },
    quick: {
      seeds: 1, trainSize: 600, testSize: 500, epochs: 3, batchSize: 50, lr: 0.05, highLr: 0.2,
      microBatchSize: 4, microLr: 0.01, microTrainSize: 200, microEpochs: 2, warmupFraction: 0.2, weightDecay: 5e-4, warmupEpochs: 1, milestones: REF_MILESTONES,
      resnetDepth: 8, resnetWidth: 8, vggWidth: 0.125, memoryBatchSize: 50,
    },
    standard: {
      seeds: 3, trainSize: 4000, testSize: 2000, epochs: 6, batchSize: 64, lr: 0.05, highLr: 0.2,
      microBatchSize: 4, microLr: 0.01, microTrainSize: 1000, microEpochs: 3, warmupFraction: 0.1, weightDecay: 5e-4, warmupEpochs: 2, milestones: REF_MILESTONES,
      resnetDepth: 20, resnetWidth: 8, vggWidth: 0.125, memoryBatchSize: 64,
    },
  },
  arms: () => ARMS,

  async run(ctx) {
    const a = ctx.arm as MimicArm;
    const s = ctx.settings;
    const micro = a.group === 'micro';
    const { train: trainFull, test, info } = await data(s, ctx.dataDir);
    const trainSplit = micro ? balancedSubset(trainFull, s.microTrainSize, 2) : trainFull;
    const batchSize = micro ? s.microBatchSize : s.batchSize;
    const epochs = micro ? s.microEpochs : s.epochs;
    const lr = micro ? s.microLr : a.group === 'high-lr' ? s.highLr : s.lr;
    const metrics: Record<string, number> = {};

    if (a.group === 'base') {
      const mem = await stepMemory(a, s, ctx.seed, trainFull);
      Object.assign(metrics, mem);
      ctx.log(`${a.id}: one step at batch ${s.memoryBatchSize}: peak ${(mem.peakBytes / 2 ** 20).toFixed(2)} MiB (step ${(mem.stepBytes / 2 ** 20).toFixed(2)} MiB), RSS ${(mem.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }

    const model = build(a, s, ctx.seed, trainSplit);
    const opt = optimizerFor(a, model, lr);
    const steps = Math.floor(trainSplit.n / batchSize) * epochs;
    const base = a.group === 'base';
    const stepsPerEpoch = Math.floor(trainSplit.n / batchSize);
    const curves: CurvePoint[] = [];
    let stepMs = NaN;
    let diverged = 0;
    try {
      const result = await train({
        model,
        optimizer: opt,
        train: trainSplit,
        test,
        epochs,
        batchSize,
        seed: ctx.seed,
        dropLast: true, // a last batch of 1 has no batch statistics (the last BN throws on it)
        learningRate: base ? warmupStepSchedule(lr, steps, Math.round(s.warmupEpochs * stepsPerEpoch), s.milestones) : schedule(lr, steps, s.warmupFraction),
        lossFn: base ? withWeightDecay(s.weightDecay) : undefined,
        augment: augmentFor(s),
        progress: ctx.progress,
        onEpoch: (_e, p) => {
          curves.push({ ...p });
        },
      });
      stepMs = result.stepMs;
    } catch (err) {
      if (!(err instanceof Error) || !/diverged/.test(err.message)) throw err;
      diverged = 1;
      ctx.log(`${a.id}: diverged (${err.message})`);
    }
    const final = await evaluate(model, test);
    const best = Math.max(final.acc, ...curves.map((c) => c['testAcc'] ?? 0));
    Object.assign(metrics, {
      testAcc: final.acc,
      bestTestAcc: best,
      testLoss: Number.isFinite(final.loss) ? final.loss : -1,
      ...(Number.isFinite(stepMs) ? { stepMs } : {}), // not measured when the run diverged
      batchSize,
      lr,
      diverged,
      params: countParams(model),
    });
    disposeOptimizer(opt);
    model.dispose();
    return { metrics, curves, data: info };
  },

  judge(runs, s) {
    return [
      accuracyClaim(runs, 'acc-resnet', 'resnet'),
      accuracyClaim(runs, 'acc-vgg', 'vgg'),
      memoryClaim(runs, 'mem-resnet', 'resnet', s),
      memoryClaim(runs, 'mem-vgg', 'vgg', s),
      highLrClaim(runs, s),
      microClaim(runs, s),
    ];
  },

  plots(runs) {
    return [
      accuracyVsMemory(runs),
      learningCurves(runs, ['base'], 'learning-curves', 'Test accuracy per epoch: BN vs MimicNorm vs no norm'),
      learningCurves(runs, ['high-lr', 'micro'], 'learning-curves-stress', 'Test accuracy per epoch at the high learning rate and at micro-batch size'),
    ];
  },
});

export default experiment;

// ---------------------------------------------------------------------------------------------------------------
// judging (shared rule: src/stats.ts)

const PTS = { scale: 100, unit: ' points' };
const pct = (xs: number[]): string => `${(100 * summarize(xs).mean).toFixed(1)}%`;
const missing = (claimId: string, what: string): ClaimVerdict => ({ claimId, measured: `no runs of ${what}`, verdict: 'inconclusive', verdictText: 'no verdict (arms not run)', rule: 'paired-95' });

function accuracyClaim(runs: RunRecord[], claimId: string, model: ModelKind): ClaimVerdict {
  const m = armMetric(runs, `${model}-mimic`, 'bestTestAcc');
  const b = armMetric(runs, `${model}-bn`, 'bestTestAcc');
  if (m.length === 0 || b.length === 0) return missing(claimId, `${model}-mimic and ${model}-bn`);
  const e = effectOf(pairedDiffs(runs, `${model}-mimic`, `${model}-bn`, 'bestTestAcc'));
  const fin = effectOf(pairedDiffs(runs, `${model}-mimic`, `${model}-bn`, 'testAcc'));
  const j = judgeNonInferiority(e, 0.01);
  return {
    claimId,
    measured:
      `best over epochs: MimicNorm ${pct(m)}, BN ${pct(b)}; MimicNorm − BN = ${formatEffect(e, PTS)}; ` +
      `final epoch: MimicNorm ${pct(armMetric(runs, `${model}-mimic`, 'testAcc'))}, BN ${pct(armMetric(runs, `${model}-bn`, 'testAcc'))}, difference ${formatEffect(fin, PTS)}`,
    verdict: j.verdict,
    verdictText: j.text,
    rule: 'non-inferiority-95',
    detectable: formatDetectable(e, PTS),
  };
}

function memoryClaim(runs: RunRecord[], claimId: string, model: ModelKind, s: MimicNormSettings): ClaimVerdict {
  const m = summarize(armMetric(runs, `${model}-mimic`, 'peakBytes'));
  const b = summarize(armMetric(runs, `${model}-bn`, 'peakBytes'));
  const mStep = summarize(armMetric(runs, `${model}-mimic`, 'stepBytes'));
  const bStep = summarize(armMetric(runs, `${model}-bn`, 'stepBytes'));
  if (m.n === 0 || b.n === 0) return missing(claimId, `${model}-mimic and ${model}-bn`);
  const saving = 1 - m.mean / b.mean;
  const stepSaving = 1 - mStep.mean / bStep.mean;
  const mib = (x: number): string => (x / 2 ** 20).toFixed(2);
  return {
    claimId,
    measured: `tf.profile peak of one training step at batch ${s.memoryBatchSize}: BN ${mib(b.mean)} MiB → MimicNorm ${mib(m.mean)} MiB (${(100 * saving).toFixed(1)}% less; bytes allocated by the step alone ${(100 * stepSaving).toFixed(1)}% less)`,
    verdict: saving >= 0.15 ? 'reproduced' : 'not reproduced',
    rule: 'threshold',
  };
}

function highLrClaim(runs: RunRecord[], s: MimicNormSettings): ClaimVerdict {
  const noneHi = armMetric(runs, 'vgg-none-high-lr', 'testAcc');
  const mimicHi = armMetric(runs, 'vgg-mimic-high-lr', 'testAcc');
  const noneBase = armMetric(runs, 'vgg-none', 'testAcc');
  if (noneHi.length === 0 || mimicHi.length === 0 || noneBase.length === 0) return missing('high-lr', 'vgg-none-high-lr, vgg-mimic-high-lr and vgg-none');
  const divergedRuns = armMetric(runs, 'vgg-none-high-lr', 'diverged').filter((v) => v > 0).length;
  const drop = effectOf(pairedDiffs(runs, 'vgg-none', 'vgg-none-high-lr', 'testAcc'));
  const gap = effectOf(pairedDiffs(runs, 'vgg-mimic-high-lr', 'vgg-none-high-lr', 'testAcc'));
  const degraded = judgeEffect({ effect: drop, direction: 'greater', minEffect: 0.05 }).verdict === 'reproduced';
  const better = judgeEffect({ effect: gap, direction: 'greater', minEffect: 0.05 });
  return {
    claimId: 'high-lr',
    measured:
      `final-epoch accuracy; no-norm VGG at lr ${s.lr} → ${s.highLr}: ${pct(noneBase)} → ${pct(noneHi)} (drop ${formatEffect(drop, PTS)}; ${divergedRuns}/${noneHi.length} runs diverged); ` +
      `MimicNorm at lr ${s.highLr}: ${pct(mimicHi)} (MimicNorm − none: ${formatEffect(gap, PTS)})`,
    verdict: degraded ? better.verdict : 'inconclusive',
    verdictText: degraded ? better.text : 'inconclusive (premise: no-norm drop of ≥ 5 points not reproduced)',
    rule: 'premise',
    detectable: formatDetectable(gap, PTS),
  };
}

function microClaim(runs: RunRecord[], s: MimicNormSettings): ClaimVerdict {
  const m = armMetric(runs, 'resnet-mimic-micro', 'testAcc');
  const b = armMetric(runs, 'resnet-bn-micro', 'testAcc');
  if (m.length === 0 || b.length === 0) return missing('micro-batch', 'resnet-mimic-micro and resnet-bn-micro');
  const e = effectOf(pairedDiffs(runs, 'resnet-mimic-micro', 'resnet-bn-micro', 'testAcc'));
  const j = judgeEffect({ effect: e, direction: 'greater' });
  return {
    claimId: 'micro-batch',
    measured: `final-epoch accuracy, ResNet at batch ${s.microBatchSize} (lr ${s.microLr}, ${s.microTrainSize} examples × ${s.microEpochs} epochs): MimicNorm ${pct(m)} vs BN ${pct(b)}; MimicNorm − BN = ${formatEffect(e, PTS)}`,
    verdict: j.verdict,
    verdictText: j.text,
    rule: 'paired-95',
    detectable: formatDetectable(e, PTS),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// plots

function accuracyVsMemory(runs: RunRecord[]): PlotSpec {
  const rows = ARMS.filter((a) => a.group === 'base').flatMap((a) => {
    const acc = summarize(armMetric(runs, a.id, 'testAcc'));
    const mem = summarize(armMetric(runs, a.id, 'peakBytes'));
    return acc.n && mem.n ? [{ arm: a.label, accuracy: 100 * acc.mean, peakMiB: mem.mean / 2 ** 20 }] : [];
  });
  return {
    id: 'accuracy-vs-memory',
    title: 'Test accuracy vs peak tensor memory of one training step (tf.profile), per arm',
    spec: scatter({ data: rows, x: 'peakMiB', y: 'accuracy', color: 'arm', order: ARMS.map((a) => a.label), xTitle: 'peak tensor memory of one step (MiB)', yTitle: 'test accuracy (%, mean over seeds)' }),
  };
}

function learningCurves(runs: RunRecord[], groups: Group[], id: string, title: string): PlotSpec {
  const rows: Array<Record<string, unknown>> = [];
  for (const a of ARMS.filter((x) => groups.includes(x.group))) {
    for (const r of runs.filter((x) => x.armId === a.id)) {
      for (const c of r.curves ?? []) {
        const v = c['testAcc'];
        if (typeof v === 'number' && Number.isFinite(v)) rows.push({ arm: a.label, seed: r.seed, epoch: c.epoch, testAcc: 100 * v });
      }
    }
  }
  const seeds = new Set(rows.map((r) => r['seed'])).size;
  return { id, title, spec: lineChart({ data: rows, x: 'epoch', y: 'testAcc', color: 'arm', order: ARMS.map((a) => a.label), detail: 'seed', aggregate: seeds > 1, xTitle: 'epoch', yTitle: 'test accuracy (%)' }) };
}
