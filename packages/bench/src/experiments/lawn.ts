/**
 * LAWN (Gupta et al., arXiv 2108.05839): freeze the weight norms of the final homogeneous sub-network after a free
 * phase. Adam / Adam+LAWN / SGD-momentum / SGD-momentum+LAWN × a small and a large batch on Fashion-MNIST with the
 * spec's small CNN (conv-BN-ReLU ×2, global average pool, Dense-ReLU-Dense, both Dense bias-free).
 *
 * Learning rates: the LAWN spec gives Adam 1e-3 at batch 128 and says nothing about scaling with the batch size, so
 * both optimizers scale their rate at batch 128 by sqrt(batch / 128) (linear scaling sent SGD-momentum to 0.8 at
 * batch 2048, where its head norms exploded ×5 in 8 steps without warm-up).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, paramsOf } from '@trainkit/core';
import { lawn, type LawnOptimizer } from '@trainkit/lawn';
import { finalHomogeneousParams, logitStats } from '@trainkit/lawn/layers';
import { loadFashionMnistCached, take, type Split } from '../data';
import { defineExperiment, type ArmSpec, type ClaimVerdict, type CurvePoint, type DataInfo, type PlotSpec, type ProfileSettings, type RunRecord } from '../experiment';
import { lineChart } from '../plots';
import { armMetric, effectOf, formatDetectable, formatEffect, judgeEffect, pairedDiffs, summarize } from '../stats';
import { evaluate, train, disposeOptimizer } from '../train';

/** Per-profile settings. */
export interface LawnSettings extends ProfileSettings {
  trainSize: number;
  testSize: number;
  /** Side of the (average-pooled) images: 28 = full resolution, 14 = 2×2 average pooling (4× cheaper). */
  imageSize: 28 | 14;
  epochs: number;
  /** Length of the free phase in epochs (spec: 5 of 30); freeSteps = freeEpochs × steps per epoch of the arm. */
  freeEpochs: number;
  smallBatch: number;
  largeBatch: number;
  /** Adam's rate at batch 128 (spec §5: 1e-3); scaled by sqrt(batch / 128). */
  adamLr: number;
  /** SGD-momentum (0.9) rate at batch 128; scaled by sqrt(batch / 128). */
  sgdLr: number;
  /** Filters of the two convs and units of the hidden Dense. */
  filters: [number, number];
  /**
   * Between conv2's ReLU and fc1: `'gap'` = global average pooling (spec §5), `'flatten'` = 2×2 max pooling + flatten
   * (more features, so a tiny net fits its training set within the quick budget). Both are homogeneous.
   */
  pooling: 'gap' | 'flatten';
  hidden: number;
  /** Examples of the fixed probe batch for logitStats (taken from the training set). */
  probeSize: number;
  /** Evaluate on the test split after every epoch (a test-accuracy curve) or only at the end (faster). */
  evalEveryEpoch: boolean;
}

type Opt = 'adam' | 'sgdm';
type Size = 'small' | 'large';

interface LawnArm extends ArmSpec {
  opt: Opt;
  useLawn: boolean;
  size: Size;
}

const OPT_LABEL: Record<Opt, string> = { adam: 'Adam', sgdm: 'SGD-momentum' };

function arm(opt: Opt, useLawn: boolean, size: Size): LawnArm {
  return { id: `${opt}${useLawn ? '-lawn' : ''}-${size}`, label: `${OPT_LABEL[opt]}${useLawn ? '+LAWN' : ''} @ ${size} batch`, opt, useLawn, size };
}

const ARMS: LawnArm[] = (['small', 'large'] as const).flatMap((size) =>
  (['adam', 'sgdm'] as const).flatMap((opt) => [arm(opt, false, size), arm(opt, true, size)]),
);

/** Learning rate of an arm: its rate at batch 128 times sqrt(batch / 128). */
export function lawnLearningRate(opt: Opt, batch: number, s: Pick<LawnSettings, 'adamLr' | 'sgdLr'>): number {
  return (opt === 'adam' ? s.adamLr : s.sgdLr) * Math.sqrt(batch / 128);
}

/** 2×2 average pooling of a split's images (28×28 → 14×14), in plain JS. */
function halve(split: Split): Split {
  const [h, w, c] = split.shape;
  const h2 = Math.floor(h / 2);
  const w2 = Math.floor(w / 2);
  const x = new Float32Array(split.n * h2 * w2 * c);
  for (let n = 0; n < split.n; n++) {
    for (let i = 0; i < h2; i++) {
      for (let j = 0; j < w2; j++) {
        for (let k = 0; k < c; k++) {
          const at = (ii: number, jj: number): number => split.x[((n * h + ii) * w + jj) * c + k] as number;
          x[((n * h2 + i) * w2 + j) * c + k] = (at(2 * i, 2 * j) + at(2 * i + 1, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j + 1)) / 4;
        }
      }
    }
  }
  return { ...split, x, shape: [h2, w2, c] };
}

function data(s: LawnSettings): Promise<{ train: Split; test: Split; info: DataInfo }> {
  return loadFashionMnistCached({ trainSize: s.trainSize, testSize: s.testSize, seed: 1 }).then(({ train: tr, test: te, info }) =>
    s.imageSize === 14
      ? { train: halve(tr), test: halve(te), info: { ...info, name: `${info.name}, 2×2 average-pooled to 14×14` } }
      : { train: tr, test: te, info },
  );
}

/**
 * The spec §5 model: conv-BN-ReLU, max-pool, conv-BN-ReLU, global average pool (or max-pool + flatten), Dense-ReLU,
 * Dense(10); both Dense bias-free, so the final homogeneous sub-network is {fc1, logits}.
 */
export function lawnCnn(s: Pick<LawnSettings, 'imageSize' | 'filters' | 'hidden' | 'pooling'>, seed: number): tf.LayersModel {
  const init = (name: string) => tf.initializers.heNormal({ seed: deriveSeed(seed, name) });
  const L = tf.layers;
  return tf.sequential({
    name: 'lawnCnn',
    layers: [
      L.conv2d({ name: 'conv1', inputShape: [s.imageSize, s.imageSize, 1], filters: s.filters[0], kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init('conv1') }),
      L.batchNormalization({ name: 'conv1_bn', momentum: 0.9, epsilon: 1e-5 }),
      L.reLU({ name: 'conv1_relu' }),
      L.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      L.conv2d({ name: 'conv2', filters: s.filters[1], kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init('conv2') }),
      L.batchNormalization({ name: 'conv2_bn', momentum: 0.9, epsilon: 1e-5 }),
      L.reLU({ name: 'conv2_relu' }),
      ...(s.pooling === 'gap'
        ? [L.globalAveragePooling2d({ name: 'gap' })]
        : [L.maxPooling2d({ name: 'pool2', poolSize: 2 }), L.flatten({ name: 'flatten' })]),
      L.dense({ name: 'fc1', units: s.hidden, activation: 'relu', useBias: false, kernelInitializer: init('fc1') }),
      L.dense({ name: 'logits', units: 10, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 'logits') }) }),
    ],
  });
}

const experiment = defineExperiment<LawnSettings>({
  id: 'lawn',
  title: 'LAWN: frozen weight norms of the final homogeneous sub-network, with Adam and SGD-momentum at small and large batch',
  paper: {
    title: 'Logit Attenuating Weight Normalization',
    authors: 'Aman Gupta, Rohan Ramanath, Jun Shi, Anika Ramachandran, Sirou Zhou, Mingzhou Zhou, S. Sathiya Keerthi',
    year: 2021,
    url: 'https://arxiv.org/abs/2108.05839',
  },
  claims: [
    {
      id: 'norm-freeze',
      text: '(1a) With LAWN the product of the constrained norms (fc1 × logits kernels) is constant after the switch, while without LAWN it grows.',
      paper: 'abstract: without tuned weight decay, weight norms grow; LAWN holds the final sub-network\u2019s weight norms fixed',
    },
    {
      id: 'logit-growth',
      text: '(1b) Without LAWN the logit norm keeps growing as the training loss falls; LAWN attenuates that growth (logits stay bounded).',
      paper: 'abstract: without tuned weight decay, logits grow and the loss gets too small; LAWN attenuates the logits (no numbers given)',
    },
    {
      id: 'adam-large',
      text: '(2) At the large batch, Adam+LAWN reaches a higher test accuracy than Adam.',
      paper: 'abstract: "large gains for Adam"; OPT-2021: Adam-LAWN makes Adam less sensitive to batch size (numbers not verified)',
    },
    {
      id: 'sgdm-large',
      text: '(3) At the large batch, LAWN raises SGD-momentum test accuracy too.',
      paper: 'abstract: LAWN improves every optimizer tried when the batch size is large (numbers not verified)',
    },
  ],
  profiles: {
    smoke: {
      seeds: 1, trainSize: 64, testSize: 40, imageSize: 14, epochs: 2, freeEpochs: 1, smallBatch: 16, largeBatch: 32,
      adamLr: 1e-3, sgdLr: 0.05, filters: [4, 8], hidden: 8, pooling: 'flatten', probeSize: 32, evalEveryEpoch: false,
    },
    // 2 minutes for all 8 arms on 2 shared cores: a small training set the net can fit (so the loss falls), max-pool +
    // flatten instead of the spec's GAP (a 16-feature GAP net barely fits 256 images in 30 epochs), the spec's 5-of-30
    // free epochs, and a "large" batch of half the set (2048 does not fit this budget).
    quick: {
      seeds: 1, trainSize: 256, testSize: 500, imageSize: 14, epochs: 30, freeEpochs: 5, smallBatch: 16, largeBatch: 128,
      adamLr: 1e-3, sgdLr: 0.05, filters: [8, 16], hidden: 32, pooling: 'flatten', probeSize: 128, evalEveryEpoch: false,
    },
    // Tens of minutes on 2 cores: 4096 images, the issue's large batch 2048 (2 steps per epoch), 3 seeds.
    standard: {
      seeds: 3, trainSize: 4096, testSize: 2000, imageSize: 14, epochs: 20, freeEpochs: 4, smallBatch: 64, largeBatch: 2048,
      adamLr: 1e-3, sgdLr: 0.05, filters: [8, 16], hidden: 32, pooling: 'flatten', probeSize: 512, evalEveryEpoch: true,
    },
  },
  rules: {
    'norm-freeze': 'Reproduced when every LAWN run keeps the product of the constrained norms within 1e-4 (relative) of its value at the switch at every epoch and every baseline product grows by more than 1%; not reproduced when a LAWN product drifts; else inconclusive.',
    'logit-growth': 'Per optimizer × batch pair: the baseline\u2019s mean logit norm on a fixed probe batch grows after the switch epoch, and LAWN counts as attenuating when its growth factor is at most 0.9 × the baseline\u2019s; reproduced when every pair is attenuated, not reproduced when none is, else inconclusive.',
  },
  choices: { pooling: ['gap', 'flatten'] },
  arms: () => ARMS,

  async run(ctx) {
    const a = ctx.arm as LawnArm;
    const s = ctx.settings;
    const { train: trainSplit, test, info } = await data(s);
    const batchSize = a.size === 'small' ? s.smallBatch : s.largeBatch;
    const stepsPerEpoch = Math.floor(trainSplit.n / batchSize);
    const freeSteps = s.freeEpochs * stepsPerEpoch;
    const lr = lawnLearningRate(a.opt, batchSize, s);
    const model = lawnCnn(s, ctx.seed);
    const head = finalHomogeneousParams(model); // fc1 and logits kernels (after conv2_bn)
    const inner = a.opt === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, 0.9);
    const opt = a.useLawn ? lawn(inner, { params: head.params, freeSteps }) : inner;
    const probe = take(trainSplit, Array.from({ length: Math.min(s.probeSize, trainSplit.n) }, (_, i) => i));
    const probeX = tf.tensor4d(probe.x, [probe.n, ...probe.shape]);
    // The last BN's gamma is outside the constrained set (spec §2.2 open question) but scales the features h that feed
    // the head, so its norm is tracked too.
    const gamma = paramsOf(model, { layerNames: [head.boundary ?? ''], roles: ['gamma'] })[0]?.variable;
    const stats = async (): Promise<Record<string, number>> => {
      const st = await logitStats(model, probeX, { params: head.params });
      const gn = gamma ? tf.norm(gamma) : null;
      const g = gn ? ((await gn.data())[0] as number) : NaN;
      gn?.dispose();
      return { logitNorm: st.meanLogitNorm, maxLogit: st.meanMaxLogit, maxProb: st.meanMaxProb, normProduct: st.normProduct ?? NaN, gammaNorm: g };
    };
    ctx.log(`${a.id}: batch ${batchSize}, lr ${lr.toPrecision(3)}, ${stepsPerEpoch} steps/epoch${a.useLawn ? `, freeSteps ${freeSteps}` : ''}; constrained: ${head.params.map((p) => p.layerName).join(', ')}`);
    const curves: CurvePoint[] = [{ epoch: 0, ...(await stats()) }];
    let frozenProduct = NaN;
    try {
      const result = await train({
        model,
        optimizer: opt,
        train: trainSplit,
        ...(s.evalEveryEpoch ? { test } : {}),
        epochs: s.epochs,
        batchSize,
        seed: ctx.seed,
        dropLast: true, // equal-size steps, so freeSteps is exactly freeEpochs epochs
        progress: ctx.progress,
        onEpoch: async (epoch, p) => {
          const extra = await stats();
          if (a.useLawn && epoch === s.freeEpochs) {
            frozenProduct = (opt as LawnOptimizer).frozenNorms().reduce((acc, f) => acc * (f.norms[0] as number), 1);
          }
          curves.push({ ...p, ...extra });
          return extra;
        },
      });
      const final = await evaluate(model, test);
      const at = (e: number): CurvePoint => curves.find((c) => c.epoch === e) ?? (curves[curves.length - 1] as CurvePoint);
      const after = curves.filter((c) => c.epoch >= s.freeEpochs);
      const drift = Number.isFinite(frozenProduct)
        ? Math.max(...after.map((c) => Math.abs((c['normProduct'] as number) - frozenProduct) / frozenProduct))
        : NaN;
      const metrics: Record<string, number> = {
        testAcc: final.acc,
        testLoss: final.loss,
        trainLoss: result.final['trainLoss'] as number,
        logitNorm: at(s.epochs)['logitNorm'] as number,
        logitNormAtSwitch: at(s.freeEpochs)['logitNorm'] as number,
        logitGrowth: (at(s.epochs)['logitNorm'] as number) / (at(s.freeEpochs)['logitNorm'] as number),
        normProduct: at(s.epochs)['normProduct'] as number,
        normProductAtSwitch: at(s.freeEpochs)['normProduct'] as number,
        maxProb: at(s.epochs)['maxProb'] as number,
        gammaGrowth: (at(s.epochs)['gammaNorm'] as number) / (at(s.freeEpochs)['gammaNorm'] as number),
        stepMs: result.stepMs,
        batchSize,
        lr,
        freeSteps: a.useLawn ? freeSteps : 0,
        steps: result.final['steps'] as number,
      };
      if (a.useLawn) {
        metrics['frozenNormProduct'] = frozenProduct;
        metrics['normProductDrift'] = drift;
      }
      return { metrics, curves, data: info, extra: { constrained: head.params.map((p) => p.name), explanation: head.explanation } };
    } finally {
      probeX.dispose();
      disposeOptimizer(opt);
      model.dispose();
    }
  },

  judge(runs, s) {
    return [freezeClaim(runs, s), growthClaim(runs, s), largeBatchClaim(runs, s, 'adam-large', 'adam'), largeBatchClaim(runs, s, 'sgdm-large', 'sgdm')];
  },

  plots(runs) {
    return [
      curvePlot(runs, 'logitNorm', 'small', `Mean logit L2 norm on a fixed probe batch, small batch`, 'mean ‖z‖₂'),
      curvePlot(runs, 'logitNorm', 'large', `Mean logit L2 norm on a fixed probe batch, large batch`, 'mean ‖z‖₂'),
      curvePlot(runs, 'normProduct', 'all', 'Product of the head kernels’ Frobenius norms (fc1 × logits)', '‖W_fc1‖ · ‖W_logits‖'),
    ];
  },
});

export default experiment;

// ---------------------------------------------------------------------------------------------------------------
// judging

const values = armMetric;
const mean = (xs: number[]): number => summarize(xs).mean;
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const missing = (claimId: string, what: string): ClaimVerdict => ({ claimId, measured: `no runs of ${what}`, verdict: 'inconclusive', rule: 'paired-95' });

interface PairStats {
  label: string;
  baseGrowth: number;
  lawnGrowth: number;
  baseProd: number;
  drift: number;
  baseLoss: number;
  lawnGamma: number;
}

function pairs(runs: RunRecord[]): PairStats[] {
  const out: PairStats[] = [];
  for (const size of ['small', 'large'] as const) {
    for (const opt of ['adam', 'sgdm'] as const) {
      const b = `${opt}-${size}`;
      const l = `${opt}-lawn-${size}`;
      const baseG = values(runs, b, 'logitGrowth');
      const lawnG = values(runs, l, 'logitGrowth');
      if (baseG.length === 0 || lawnG.length === 0) continue;
      const drift = values(runs, l, 'normProductDrift');
      out.push({
        label: `${OPT_LABEL[opt]} @ ${size}`,
        baseGrowth: mean(baseG),
        lawnGrowth: mean(lawnG),
        baseProd: diffRatio(values(runs, b, 'normProduct'), values(runs, b, 'normProductAtSwitch')),
        drift: drift.length === lawnG.length ? Math.max(...drift) : NaN,
        baseLoss: mean(values(runs, b, 'trainLoss')),
        lawnGamma: mean(values(runs, l, 'gammaGrowth')),
      });
    }
  }
  return out;
}

function freezeClaim(runs: RunRecord[], s: LawnSettings): ClaimVerdict {
  const ps = pairs(runs);
  if (ps.length === 0) return missing('norm-freeze', 'a baseline/LAWN pair');
  const held = ps.every((p) => p.drift <= 1e-4);
  const grows = ps.every((p) => p.baseProd > 1.01);
  return {
    claimId: 'norm-freeze',
    measured: ps.map((p) => `${p.label}: product ×${p.baseProd.toFixed(2)} from epoch ${s.freeEpochs} to ${s.epochs} without LAWN, max relative drift ${p.drift.toExponential(1)} with LAWN`).join('; '),
    verdict: held && grows ? 'reproduced' : !held ? 'not reproduced' : 'inconclusive',
    rule: 'norm-freeze',
  };
}

function growthClaim(runs: RunRecord[], s: LawnSettings): ClaimVerdict {
  const ps = pairs(runs);
  if (ps.length === 0) return missing('logit-growth', 'a baseline/LAWN pair');
  const grows = ps.filter((p) => p.baseGrowth > 1);
  const attenuated = ps.filter((p) => p.baseGrowth > 1 && p.lawnGrowth <= 0.9 * p.baseGrowth);
  const verdict = grows.length === 0 ? 'inconclusive' : attenuated.length === ps.length ? 'reproduced' : attenuated.length === 0 ? 'not reproduced' : 'inconclusive';
  return {
    claimId: 'logit-growth',
    measured:
      ps
        .map(
          (p) =>
            `${p.label}: logit norm ×${p.baseGrowth.toFixed(2)} without LAWN (final train loss ${p.baseLoss.toFixed(3)}) vs ×${p.lawnGrowth.toFixed(2)} with LAWN (last-BN γ norm, not constrained: ×${p.lawnGamma.toFixed(2)})`,
        )
        .join('; ') + ` (growth from epoch ${s.freeEpochs} to ${s.epochs}, mean over seeds; ${attenuated.length} of ${ps.length} pairs attenuated)`,
    verdict,
    rule: 'logit-growth',
  };
}

function diffRatio(end: number[], start: number[]): number {
  return mean(end) / mean(start);
}

function largeBatchClaim(runs: RunRecord[], s: LawnSettings, claimId: string, opt: Opt): ClaimVerdict {
  const withLawn = values(runs, `${opt}-lawn-large`, 'testAcc');
  const base = values(runs, `${opt}-large`, 'testAcc');
  if (withLawn.length === 0 || base.length === 0) return missing(claimId, `${opt}-lawn-large and ${opt}-large`);
  const smallBase = values(runs, `${opt}-small`, 'testAcc');
  const smallLawn = values(runs, `${opt}-lawn-small`, 'testAcc');
  const e = effectOf(pairedDiffs(runs, `${opt}-lawn-large`, `${opt}-large`, 'testAcc'));
  const j = judgeEffect({ effect: e, direction: 'greater', minEffect: 0.005 });
  const PTS = { scale: 100, unit: ' points' };
  return {
    claimId,
    measured:
      `batch ${s.largeBatch}: ${OPT_LABEL[opt]}+LAWN ${pct(mean(withLawn))} vs ${OPT_LABEL[opt]} ${pct(mean(base))}, LAWN − base ${formatEffect(e, PTS)}` +
      (smallBase.length && smallLawn.length ? `; at batch ${s.smallBatch}: ${pct(mean(smallLawn))} vs ${pct(mean(smallBase))}` : ''),
    verdict: j.verdict,
    verdictText: j.text,
    rule: 'paired-95',
    detectable: formatDetectable(e, PTS),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// plots (Vega-Lite, data inlined)

function curvePlot(runs: RunRecord[], metric: string, size: Size | 'all', title: string, yTitle: string): PlotSpec {
  const label = new Map(ARMS.map((a) => [a.id, a.label]));
  const data = runs
    .filter((r) => size === 'all' || r.armId.endsWith(`-${size}`))
    .flatMap((r) =>
      (r.curves ?? [])
        .filter((c) => typeof c[metric] === 'number' && Number.isFinite(c[metric]))
        .map((c) => ({ epoch: c.epoch, [metric]: c[metric], arm: label.get(r.armId) ?? r.armId, seed: r.seed })),
    );
  const seeds = new Set(runs.map((r) => r.seed)).size;
  return {
    id: `lawn-${metric}-${size}`,
    title,
    spec: lineChart({ data, x: 'epoch', y: metric, color: 'arm', order: ARMS.map((a) => a.label), detail: 'seed', aggregate: seeds > 1, title, yTitle, yZero: false }),
  };
}
