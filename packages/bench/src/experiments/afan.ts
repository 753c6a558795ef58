/**
 * A-FAN (Chen et al. 2021): adversarial feature augmentation (+ normalisation) against plain training, on
 * Fashion-MNIST with the bench's CIFAR-style ResNet split after stage 1 (the reference code's location).
 */
import * as tf from '@tensorflow/tfjs';
import { constantSchedule, cosineSchedule, linearWarmup, type Schedule } from '@trainkit/core';
import { afanLoss, type AfanLossArgs, type StatsAxes } from '@trainkit/afan';
import { splitModel } from '@trainkit/afan/layers';
import { augmentFor, loadExperimentData, take, type DataSettings, type Split } from '../data';
import { defineExperiment, type ArmSpec, type ClaimVerdict, type CurvePoint, type DataInfo, type PlotSpec, type ProfileSettings, type RunRecord } from '../experiment';
import { countParams, resnet } from '../models';
import { barWithErrors, lineChart } from '../plots';
import { effectOf, formatDetectable, formatEffect, judgeEffect } from '../stats';
import { crossEntropy, evaluate, train, warmupStepSchedule, withWeightDecay, type LossFn, disposeOptimizer } from '../train';

/** Per-profile settings (`dataset`, `augment`: see {@link DataSettings}; absent = Fashion-MNIST, no augmentation). */
export interface AfanSettings extends ProfileSettings, DataSettings {
  trainSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  /** Peak learning rate (SGD momentum 0.9, linear warm-up then cosine to 0), the same for every arm. */
  lr: number;
  warmupFraction: number;
  /**
   * The reference recipe instead of the cosine (`main_perturb.py`): linear warm-up over the first epoch, then the LR
   * ×0.1 at each of these fractions of the run (50 and 150 of 200 epochs). @defaultValue absent: warm-up + cosine
   */
  milestones?: number[];
  /** Coupled L2 weight decay (torch SGD's `weight_decay`) on every trainable weight. @defaultValue 0 */
  weightDecay?: number;
  resnetDepth: number;
  resnetWidth: number;
  /**
   * A-FAN: attack steps K, step size α (feature units), strengths k, loss weights, AFN axes. The loss weights default to
   * the reference code's (L_clean + L_adv)/2 (cleanWeight = advWeight = 0.5); the paper's Fig. 2 writes
   * L = L_clean + λ·Σ L_adv, i.e. cleanWeight 1 and advWeight λ.
   */
  steps: number;
  stepSize: number;
  numStrengths: number;
  cleanWeight: number;
  advWeight: number;
  statsAxes: StatsAxes;
  /** Training examples evaluated for the train accuracy (generalisation gap). */
  gapSize: number;
  /** Timed steps per mode (plain, feature-level, pixel-level) in the cost measurement, after one warm-up step each. */
  costReps: number;
}

type Mode = 'baseline' | 'aug' | 'afn' | 'k0';

interface AfanArm extends ArmSpec {
  mode: Mode;
}

const ARMS: AfanArm[] = [
  { id: 'baseline', label: 'baseline (cross-entropy)', mode: 'baseline' },
  { id: 'afan-aug', label: 'A-FAN augmentation', mode: 'aug' },
  { id: 'afan-afn', label: 'A-FAN augmentation + normalisation', mode: 'afn' },
  // Control: A-FAN's loss (0.5·clean + 0.5·"adversarial") with no attack (K = 0). It separates the attack's effect
  // from the loss weighting, which alone halves the clean gradient reaching the layers before the split.
  { id: 'afan-k0', label: 'control: A-FAN loss weights, no attack (K = 0)', mode: 'k0' },
];

/** The layer after which the reference perturbs (end of stage 1 = input of stage 2). */
function splitLayer(depth: number): string {
  return `s1b${(depth - 2) / 6}_relu`;
}

function data(s: AfanSettings, dataDir: string | undefined): Promise<{ train: Split; test: Split; info: DataInfo }> {
  return loadExperimentData(s, dataDir, { cached: true, fashionDataDir: false, what: 'afan' });
}

/** The model for images of `split`'s shape and classes (28×28×1 / 10 on Fashion-MNIST). */
function build(s: AfanSettings, seed: number, split: Pick<Split, 'shape' | 'classes'>): tf.LayersModel {
  return resnet({ inputShape: [...split.shape], classes: split.classes, norm: 'batch', seed, depth: s.resnetDepth, width: s.resnetWidth });
}

function schedule(lr: number, totalSteps: number, warmupFraction: number): Schedule {
  const warm = Math.max(1, Math.round(totalSteps * warmupFraction));
  const rest = Math.max(1, totalSteps - warm);
  return linearWarmup({ steps: warm, from: lr * 0.01, then: rest > 1 ? cosineSchedule({ from: lr, to: 0, steps: rest }) : constantSchedule(lr) });
}

function afanOptions(s: AfanSettings, useNormalization: boolean, steps = s.steps): Omit<AfanLossArgs, 'front' | 'back' | 'x' | 'y'> {
  return {
    steps,
    stepSize: s.stepSize,
    numStrengths: s.numStrengths,
    cleanWeight: s.cleanWeight,
    advWeight: s.advWeight,
    statsAxes: s.statsAxes,
    useNormalization,
  };
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

/**
 * Median wall time of one optimizer step for plain training, A-FAN on the stage-1 features, and the same attack on
 * the pixels (A-FAN with an identity front: the pixel-level adversarial training A-FAN is meant to be cheaper than).
 * The three run interleaved on fresh, identical models, so they share the machine's conditions.
 */
async function stepCosts(s: AfanSettings, seed: number, split: Split): Promise<{ plainMs: number; featureMs: number; pixelMs: number }> {
  const n = Math.min(s.batchSize, split.n);
  const sub = take(split, Int32Array.from({ length: n }, (_, i) => i));
  const x = tf.tensor4d(sub.x, [n, ...sub.shape]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(sub.labels, 'int32'), split.classes), 'float32') as tf.Tensor2D);
  const opts = afanOptions(s, false);
  const setups = (['plain', 'feature', 'pixel'] as const).map((kind) => {
    const model = build(s, seed, split);
    const opt = tf.train.momentum(s.lr * 0.01, 0.9);
    const { front, back } = splitModel(model, splitLayer(s.resnetDepth));
    const identity = (t: tf.Tensor): tf.Tensor => t;
    const loss = (): tf.Scalar =>
      kind === 'plain'
        ? crossEntropy(y, model.apply(x, { training: true }) as tf.Tensor)
        : kind === 'feature'
          ? afanLoss({ front, back, x, y, ...opts })
          : afanLoss({ front: identity, back: model, x, y, ...opts });
    return { kind, model, opt, front, back, loss, times: [] as number[] };
  });
  try {
    for (let r = 0; r <= s.costReps; r++) {
      for (const u of setups) {
        const t0 = performance.now();
        const l = u.opt.minimize(u.loss, true) as tf.Scalar;
        await l.data();
        l.dispose();
        if (r > 0) u.times.push(performance.now() - t0); // r = 0 warms up (slots, kernels)
      }
    }
    const [plain, feature, pixel] = setups.map((u) => median(u.times)) as [number, number, number];
    return { plainMs: plain, featureMs: feature, pixelMs: pixel };
  } finally {
    tf.dispose([x, y]);
    for (const u of setups) {
      disposeOptimizer(u.opt);
      for (const m of [u.model, u.front, u.back]) m.dispose();
    }
  }
}

const experiment = defineExperiment<AfanSettings>({
  id: 'afan',
  title: 'A-FAN: adversarial feature augmentation and normalisation',
  paper: {
    title: 'Adversarial Feature Augmentation and Normalization for Visual Recognition',
    authors: 'Tianlong Chen, Yu Cheng, Zhe Gan, Jianfeng Wang, Lijuan Wang, Zhangyang Wang, Jingjing Liu',
    year: 2021,
    url: 'https://arxiv.org/abs/2103.12171',
  },
  claims: [
    {
      id: 'acc-aug',
      text: 'A-FAN feature augmentation (K-step sign attack on the stage-1 features, 0.5·clean + 0.5·adversarial loss) improves clean test accuracy over plain training.',
      paper: 'no paper number: the "+1 point" is an inference comparing the reference README\'s ResNet-56s with feature augmentation (94.82%, CIFAR-10) with He et al.\'s ResNet-56 (93.03%), which is in fact +1.8 points, across codebases',
    },
    {
      id: 'acc-afn',
      text: 'A-FAN augmentation + adversarial feature normalisation improves clean test accuracy over plain training.',
      paper: 'abstract: consistent gains on CIFAR-10/100 and ImageNet ResNets/EfficientNets (per-table numbers not retrieved)',
    },
    {
      id: 'cost',
      text: 'Perturbing features is cheaper than perturbing pixels: an A-FAN step (attack through the layers after stage 1) takes at most 90% of the time of the same attack on the input.',
      paper: 'abstract/Fig. 1: feature-level augmentation avoids the cost of pixel-level adversarial training (AdvProp)',
    },
  ],
  profiles: {
    // K = 5, α = 0.5/255, k = 1, weights 0.5/0.5, 'pono' are the reference's CIFAR ResNet settings; quick uses K = 1
    // (the reference segmentation/detection setting) to fit its 2-minute budget.
    smoke: {
      seeds: 1, trainSize: 40, testSize: 40, epochs: 1, batchSize: 20, lr: 0.1, warmupFraction: 0.1,
      resnetDepth: 8, resnetWidth: 4, steps: 2, stepSize: 0.5 / 255, numStrengths: 1, cleanWeight: 0.5, advWeight: 0.5,
      statsAxes: 'pono', gapSize: 40, costReps: 1,
    },
    quick: {
      seeds: 2, trainSize: 2000, testSize: 500, epochs: 2, batchSize: 50, lr: 0.1, warmupFraction: 0.1,
      resnetDepth: 8, resnetWidth: 8, steps: 1, stepSize: 0.5 / 255, numStrengths: 1, cleanWeight: 0.5, advWeight: 0.5,
      statsAxes: 'pono', gapSize: 500, costReps: 2,
    },
    standard: {
      seeds: 3, trainSize: 4000, testSize: 2000, epochs: 4, batchSize: 64, lr: 0.1, warmupFraction: 0.1,
      resnetDepth: 8, resnetWidth: 8, steps: 5, stepSize: 0.5 / 255, numStrengths: 1, cleanWeight: 0.5, advWeight: 0.5,
      statsAxes: 'pono', gapSize: 2000, costReps: 5,
    },
  },
  rules: {
    'step-cost': 'Median step times of fresh identical models, interleaved in one process: reproduced when feature-level / pixel-level ≤ 0.90 (mean over seeds), else not reproduced.',
  },
  choices: { statsAxes: ['pono', 'batch', 'instance'] },
  arms: () => ARMS,

  async run(ctx) {
    const a = ctx.arm as AfanArm;
    const s = ctx.settings;
    const { train: trainSplit, test, info } = await data(s, ctx.dataDir);
    const metrics: Record<string, number> = {};

    if (a.mode === 'aug') {
      const cost = await stepCosts(s, ctx.seed, trainSplit);
      Object.assign(metrics, cost, { featureOverPlain: cost.featureMs / cost.plainMs, featureOverPixel: cost.featureMs / cost.pixelMs });
      ctx.log(
        `afan step cost at batch ${Math.min(s.batchSize, trainSplit.n)}: plain ${cost.plainMs.toFixed(0)} ms, ` +
          `A-FAN on features ${cost.featureMs.toFixed(0)} ms (×${(cost.featureMs / cost.plainMs).toFixed(2)}), ` +
          `same attack on pixels ${cost.pixelMs.toFixed(0)} ms (×${(cost.pixelMs / cost.plainMs).toFixed(2)})`,
      );
    }

    // Same seed → same initial weights and the same batch order in every arm.
    const model = build(s, ctx.seed, trainSplit);
    const { front, back } = splitModel(model, splitLayer(s.resnetDepth));
    const opt = tf.train.momentum(s.lr, 0.9);
    const stepsPerEpoch = Math.ceil(trainSplit.n / s.batchSize);
    const steps = stepsPerEpoch * s.epochs;
    const base: LossFn | undefined =
      a.mode === 'baseline'
        ? undefined
        : (_m, batch) => afanLoss({ front, back, x: batch.x, y: batch.y, ...afanOptions(s, a.mode === 'afn', a.mode === 'k0' ? 0 : s.steps) });
    const lossFn = base !== undefined || (s.weightDecay ?? 0) > 0 ? withWeightDecay(s.weightDecay ?? 0, base) : undefined;
    try {
      const result = await train({
        model,
        optimizer: opt,
        train: trainSplit,
        test,
        epochs: s.epochs,
        batchSize: s.batchSize,
        seed: ctx.seed,
        learningRate: s.milestones ? warmupStepSchedule(s.lr, steps, stepsPerEpoch, s.milestones) : schedule(s.lr, steps, s.warmupFraction),
        lossFn,
        augment: augmentFor(s),
        progress: ctx.progress,
      });
      const final = await evaluate(model, test);
      const m = Math.min(s.gapSize, trainSplit.n);
      const every = trainSplit.n / m;
      const trainEval = await evaluate(model, take(trainSplit, Int32Array.from({ length: m }, (_, i) => Math.floor(i * every))));
      Object.assign(metrics, {
        testAcc: final.acc,
        testLoss: final.loss,
        trainAcc: trainEval.acc,
        gap: trainEval.acc - final.acc,
        stepMs: result.stepMs,
        params: countParams(model),
      });
      return { metrics, curves: result.curves, data: info, extra: { splitAt: splitLayer(s.resnetDepth) } };
    } finally {
      disposeOptimizer(opt);
      for (const m of [model, front, back]) m.dispose();
    }
  },

  judge(runs, s) {
    return [accuracyClaim(runs, 'acc-aug', 'afan-aug', 0.018), accuracyClaim(runs, 'acc-afn', 'afan-afn'), costClaim(runs, s)];
  },

  plots(runs) {
    return [accuracyBars(runs), learningCurves(runs)];
  },
});

export default experiment;

// ---------------------------------------------------------------------------------------------------------------
// judging

function values(runs: RunRecord[], armId: string, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs) {
    const v = r.metrics[metric];
    if (r.armId === armId && typeof v === 'number' && Number.isFinite(v)) out.set(r.seed, v);
  }
  return out;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

const PTS = { scale: 100, unit: ' points' };
const MIN_EFFECT = 0.005;

/**
 * Paired by seed (same initial weights and batch order in both arms): d_s = acc(arm, s) − acc(baseline, s), judged by
 * `paired-95` with a 0.5-point minimum effect and, for the augmentation claim, the +1.8 points the reference README
 * implies (see the claim's paper column).
 */
function accuracyClaim(runs: RunRecord[], claimId: string, armId: string, paperEffect?: number): ClaimVerdict {
  const arm = values(runs, armId, 'testAcc');
  const base = values(runs, 'baseline', 'testAcc');
  const seeds = [...arm.keys()].filter((k) => base.has(k)).sort((a, b) => a - b);
  if (seeds.length === 0) return { claimId, measured: `no paired runs of ${armId} and baseline`, verdict: 'inconclusive', rule: 'paired-95' };
  const e = effectOf(seeds.map((k) => (arm.get(k) as number) - (base.get(k) as number)));
  const gapArm = mean([...values(runs, armId, 'gap').values()]);
  const gapBase = mean([...values(runs, 'baseline', 'gap').values()]);
  const j = judgeEffect({ effect: e, direction: 'greater', minEffect: MIN_EFFECT, paperEffect, format: (x) => `${(100 * x).toFixed(1)} points` });
  const control = values(runs, 'afan-k0', 'testAcc');
  const cSeeds = seeds.filter((k) => control.has(k));
  const attack = cSeeds.length ? `; attack effect ${armId} − control(K = 0) = ${formatEffect(effectOf(cSeeds.map((k) => (arm.get(k) as number) - (control.get(k) as number))), PTS)}` : '';
  return {
    claimId,
    measured:
      `${armId} − baseline = ${formatEffect(e, PTS)} ` +
      `(${armId} ${(100 * mean(seeds.map((k) => arm.get(k) as number))).toFixed(2)}%, baseline ${(100 * mean(seeds.map((k) => base.get(k) as number))).toFixed(2)}%; ` +
      `train−test gap ${(100 * gapArm).toFixed(1)} vs ${(100 * gapBase).toFixed(1)} points${attack})`,
    verdict: j.verdict,
    verdictText: j.text,
    rule: 'paired-95',
    detectable: formatDetectable(e, PTS),
  };
}

function costClaim(runs: RunRecord[], s: AfanSettings): ClaimVerdict {
  const ratio = [...values(runs, 'afan-aug', 'featureOverPixel').values()];
  const overPlain = [...values(runs, 'afan-aug', 'featureOverPlain').values()];
  const pixelOverPlain = runs
    .filter((r) => r.armId === 'afan-aug' && typeof r.metrics['pixelMs'] === 'number' && typeof r.metrics['plainMs'] === 'number')
    .map((r) => (r.metrics['pixelMs'] as number) / (r.metrics['plainMs'] as number));
  const base = [...values(runs, 'baseline', 'stepMs').values()];
  const aug = [...values(runs, 'afan-aug', 'stepMs').values()];
  const afn = [...values(runs, 'afan-afn', 'stepMs').values()];
  if (ratio.length === 0) return { claimId: 'cost', measured: 'no afan-aug run', verdict: 'inconclusive', rule: 'threshold' };
  const r = mean(ratio);
  const trainRatio = base.length && aug.length ? ` In training: median step ${mean(base).toFixed(0)} ms baseline, ${mean(aug).toFixed(0)} ms A-FAN aug (×${(mean(aug) / mean(base)).toFixed(2)})${afn.length ? `, ${mean(afn).toFixed(0)} ms aug + AFN (×${(mean(afn) / mean(base)).toFixed(2)})` : ''}.` : '';
  return {
    claimId: 'cost',
    measured:
      `K = ${s.steps}, batch ${s.batchSize}: A-FAN step = ×${mean(overPlain).toFixed(2)} a plain step, pixel-level step = ×${mean(pixelOverPlain).toFixed(2)}; ` +
      `feature/pixel = ${r.toFixed(2)} (n=${ratio.length}).${trainRatio}`,
    verdict: r <= 0.9 ? 'reproduced' : 'not reproduced',
    rule: 'step-cost',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// plots (Vega-Lite, data inlined)

function accuracyBars(runs: RunRecord[]): PlotSpec {
  const label = new Map(ARMS.map((a) => [a.id, a.label]));
  const rows = runs
    .filter((r) => label.has(r.armId) && typeof r.metrics['testAcc'] === 'number')
    .map((r) => ({ arm: label.get(r.armId), seed: r.seed, testAcc: 100 * (r.metrics['testAcc'] as number) }));
  return {
    id: 'accuracy',
    title: 'Clean test accuracy per arm (mean ± sd over seeds; dots = seeds)',
    spec: barWithErrors({ data: rows, x: 'arm', y: 'testAcc', yTitle: 'test accuracy (%)' }),
  };
}

function learningCurves(runs: RunRecord[]): PlotSpec {
  const label = new Map(ARMS.map((a) => [a.id, a.label]));
  const rows = runs.flatMap((r) =>
    ((r.curves ?? []) as CurvePoint[])
      .filter((c) => typeof c['testAcc'] === 'number' && label.has(r.armId))
      .map((c) => ({ arm: label.get(r.armId), seed: r.seed, epoch: c.epoch, testAcc: 100 * (c['testAcc'] as number) })),
  );
  return {
    id: 'learning-curves',
    title: 'Test accuracy per epoch (mean ± sd over seeds)',
    spec: lineChart({ data: rows, x: 'epoch', y: 'testAcc', color: 'arm', order: ARMS.map((a) => a.label), detail: 'seed', aggregate: true, xTitle: 'epoch', yTitle: 'test accuracy (%)' }),
  };
}
