/**
 * Experiment `prune`: Liu et al. (ICML 2021), "Lottery Ticket Preserves Weight Correlation: Is It Desirable or Not?".
 *
 * One run = one (model, learning rate) arm × one seed, and it holds every sub-arm that shares the dense training:
 *   1. θ0 → dense training for T epochs → θT; R_p(θ0, θT) for p in `ps`.
 *   2. For each sparsity s: one-shot layerwise magnitude mask m on θT (first conv excluded, as Paper 1), then three
 *      trainings of T epochs with m held fixed by maskHook, the same recipe and the same data order:
 *      ticket (θ0 ⊙ m), random re-init (θ0' ⊙ m, θ0' a fresh draw of the same initialisers), P&F (θT ⊙ m).
 * Claims are judged on paired differences inside each run (same seed, same mask), averaged over sparsities and seeds.
 */
import * as tf from '@tensorflow/tfjs';
import { constantSchedule, deriveSeed, piecewiseSchedule, withHooks, type Schedule } from '@trainkit/core';
import {
  applyMasks,
  disposeMasks,
  disposeSnapshot,
  exportSparse,
  magnitudeMasks,
  maskHook,
  prunableParams,
  restore,
  snapshot,
  weightCorrelation,
  weightCorrelations,
  type Masks,
} from '@trainkit/prune';
import { randomReinit } from '@trainkit/prune/layers';
import {
  defineExperiment,
  type ArmSpec,
  type ClaimVerdict,
  type PlotSpec,
  type ProfileSettings,
  type RunContext,
  type RunRecord,
  type Verdict,
} from '../experiment';
import { loadFashionMnist } from '../data';
import { resnet, smallCnn } from '../models';
import { evaluate, train } from '../train';

type ModelName = 'cnn' | 'resnet';
type Arm = 'ticket' | 'reinit' | 'pnf';

interface PruneSettings extends ProfileSettings {
  models: ModelName[];
  trainSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  lrHigh: number;
  lrLow: number;
  /** Sparsities of the sparse arms. */
  sparsities: number[];
  /** p values of the R_p(θ0, θT) curve. */
  ps: number[];
  /** Which sparse arms run at the low rate (claim 3 needs ticket and reinit). */
  lowRateArms: Arm[];
  /** Small CNN size. */
  cnnFilters: [number, number];
  cnnHidden: number;
  resnetDepth: number;
  resnetWidth: number;
}

const P_CLAIM = 0.2;
const pct = (s: number): string => String(Math.round(s * 100));
const metricAcc = (arm: Arm, s: number): string => `acc_${arm}_${pct(s)}`;
const metricR = (p: number): string => `R_${pct(p)}`;

const COMMON = {
  lrHigh: 0.1,
  lrLow: 0.01,
  ps: [0.1, 0.2, 0.3, 0.4, 0.5],
  cnnFilters: [16, 32] as [number, number],
  cnnHidden: 64,
  resnetDepth: 8,
  resnetWidth: 8,
};

function modelOf(name: ModelName, s: PruneSettings, seed: number): tf.LayersModel {
  return name === 'cnn'
    ? smallCnn({ seed, filters: s.cnnFilters, hidden: s.cnnHidden })
    : resnet({ seed, depth: s.resnetDepth, width: s.resnetWidth });
}

/** Paper 1's recipe scaled to T epochs: SGD momentum 0.9, LR ×0.1 at 53% and 80% of training (80/120 of 150). */
function schedule(lr: number, stepsPerEpoch: number, epochs: number): Schedule {
  const total = stepsPerEpoch * epochs;
  const b1 = Math.max(1, Math.round((80 / 150) * total));
  const b2 = Math.max(b1 + 1, Math.round((120 / 150) * total));
  return piecewiseSchedule([constantSchedule(lr), constantSchedule(lr / 10), constantSchedule(lr / 100)], [b1, b2]);
}

const experiment = defineExperiment<PruneSettings>({
  id: 'prune',
  title: 'Lottery ticket vs pruning & fine-tuning, and the weight correlation R_p',
  paper: {
    title: 'Lottery Ticket Preserves Weight Correlation: Is It Desirable or Not?',
    authors: 'N. Liu, G. Yuan, Z. Che, X. Shen, X. Ma, Q. Jin, J. Ren, J. Tang, S. Liu, Y. Wang',
    year: 2021,
    url: 'https://arxiv.org/abs/2102.11068',
  },
  claims: [
    {
      id: 'rp-low-gt-high',
      text: `R_${P_CLAIM}(θ0, θT) is higher after training at the low learning rate than at the high one.`,
      paper: 'Fig. 3: at LR 0.01 R_p is "notably higher" than at LR 0.1 (figure only).',
    },
    {
      id: 'rp-high-near-p',
      text: `At the high learning rate R_${P_CLAIM}(θ0, θT) ≈ p (no correlation between initial and trained weights).`,
      paper: 'Table 1 / Fig. 3: R_0.2 to θ0 ≈ 20% at LR 0.1 (20.1–20.4%).',
    },
    {
      id: 'pnf-ge-ticket',
      text: 'At the high learning rate, pruning & fine-tuning beats the lottery ticket with the same mask and epochs.',
      paper: 'Fig. 6/7: P&F above the ticket at every sparsity (ResNet-20/CIFAR-10, MobileNet-V2/CIFAR-100).',
    },
    {
      id: 'ticket-eq-reinit-high',
      text: 'At the high learning rate the lottery ticket is no better than random re-initialisation (ticket ≈ re-init).',
      paper: 'Fig. 2: at LR 0.1 ticket ≈ random re-init, both below dense at ≥ 50% sparsity.',
    },
    {
      id: 'ticket-gt-reinit-low',
      text: 'At the low learning rate the lottery ticket beats random re-initialisation.',
      paper: 'Fig. 2: at LR 0.01 the ticket wins (ResNet-20/C10 best ticket 90.04% at 62% sparsity).',
    },
  ],
  profiles: {
    smoke: {
      ...COMMON,
      seeds: 1,
      models: ['cnn'],
      trainSize: 200,
      testSize: 100,
      epochs: 1,
      batchSize: 50,
      sparsities: [0.8],
      ps: [0.2],
      lowRateArms: ['ticket', 'reinit'],
      cnnFilters: [4, 8],
      cnnHidden: 16,
    },
    quick: {
      ...COMMON,
      seeds: 2,
      models: ['cnn'],
      trainSize: 800,
      testSize: 1000,
      epochs: 2,
      batchSize: 50,
      sparsities: [0.8, 0.95],
      lowRateArms: ['ticket', 'reinit'],
      cnnFilters: [8, 16],
      cnnHidden: 32,
    },
    standard: {
      // 22 trainings per (model, seed): a 6k-example subset and 6 epochs keep it near an hour for both models on 2 cores.
      ...COMMON,
      seeds: 3,
      models: ['cnn', 'resnet'],
      trainSize: 6000,
      testSize: 2000,
      epochs: 6,
      batchSize: 128,
      sparsities: [0.5, 0.8, 0.9, 0.95],
      lowRateArms: ['ticket', 'reinit'],
    },
  },
  arms(settings): ArmSpec[] {
    return settings.models.flatMap((model) => [
      { id: `${model}-lr-high`, label: `${model === 'cnn' ? 'small CNN' : `ResNet-${settings.resnetDepth}`}, LR ${settings.lrHigh}`, model, rate: 'high' },
      { id: `${model}-lr-low`, label: `${model === 'cnn' ? 'small CNN' : `ResNet-${settings.resnetDepth}`}, LR ${settings.lrLow}`, model, rate: 'low' },
    ]);
  },
  async run(ctx: RunContext<PruneSettings>) {
    const s = ctx.settings;
    const modelName = ctx.arm['model'] as ModelName;
    const high = ctx.arm['rate'] === 'high';
    const lr = high ? s.lrHigh : s.lrLow;
    const { train: trainSplit, test, info } = await loadFashionMnist({ trainSize: s.trainSize, testSize: s.testSize, seed: 1 });
    const stepsPerEpoch = Math.ceil(trainSplit.n / s.batchSize);
    const arms: Arm[] = high ? ['ticket', 'reinit', 'pnf'] : s.lowRateArms;
    const nTrainings = 1 + s.sparsities.length * arms.length;
    ctx.progress.start(nTrainings * stepsPerEpoch * s.epochs, `${ctx.arm.id} seed ${ctx.seed}`);

    const model = modelOf(modelName, s, ctx.seed);
    const kernels = prunableParams(model, { excludeFirstConv: true });
    // Every phase: fresh SGD-momentum optimizer and schedule, the same data order (seed) — only the start differs.
    const fit = async (masks: Masks | null): Promise<number> => {
      const inner = tf.train.momentum(lr, 0.9);
      const optimizer = masks ? withHooks(inner, maskHook(masks)) : withHooks(inner);
      try {
        await train({
          model,
          optimizer,
          train: trainSplit,
          epochs: s.epochs,
          batchSize: s.batchSize,
          seed: deriveSeed(ctx.seed, 'data'),
          learningRate: schedule(lr, stepsPerEpoch, s.epochs),
          progress: { start: () => {}, tick: (n, m) => ctx.progress.tick(n, m) },
        });
      } finally {
        optimizer.dispose();
      }
      return (await evaluate(model, test)).acc;
    };

    const metrics: Record<string, number> = {};
    const rp: Array<{ p: number; R: number }> = [];
    const theta0 = snapshot(model);
    let thetaT: Map<string, tf.Tensor> | null = null;
    try {
      metrics['acc_dense'] = await fit(null);
      metrics['bytes_dense'] = exportSparse(model, new Map()).byteLength; // the real size of the written file
      thetaT = snapshot(model);
      const rs = weightCorrelations(theta0, model, s.ps);
      s.ps.forEach((p, i) => {
        metrics[metricR(p)] = rs[i] as number;
        rp.push({ p, R: rs[i] as number });
      });
      if (!s.ps.includes(P_CLAIM)) metrics[metricR(P_CLAIM)] = weightCorrelation(theta0, model, P_CLAIM);
      ctx.log(`${ctx.arm.id} seed ${ctx.seed}: dense acc ${metrics['acc_dense'].toFixed(4)}, R_0.2(θ0, θT) ${(metrics[metricR(P_CLAIM)] as number).toFixed(3)}`);

      for (const sp of s.sparsities) {
        restore(model, thetaT);
        const masks = magnitudeMasks(kernels, { sparsity: sp, scope: 'layer' });
        try {
          for (const arm of arms) {
            if (arm === 'ticket') restore(model, theta0, { masks });
            else if (arm === 'pnf') restore(model, thetaT, { masks });
            else {
              restore(model, theta0);
              randomReinit(model, deriveSeed(ctx.seed, 'reinit', sp), { masks });
            }
            metrics[metricAcc(arm, sp)] = await fit(masks);
            if (arm === arms[arms.length - 1]) metrics[`bytes_sparse_${pct(sp)}`] = exportSparse(model, masks).byteLength;
            if (arm === 'ticket') {
              // Table 1's check: does the trained ticket stay correlated with θ0 inside the mask?
              metrics[`R20_ticket_theta0_${pct(sp)}`] = weightCorrelation(theta0, model, P_CLAIM, masks);
            }
          }
        } finally {
          disposeMasks(masks);
        }
        ctx.log(`  s=${pct(sp)}%: ${arms.map((a) => `${a} ${(metrics[metricAcc(a, sp)] as number).toFixed(4)}`).join(', ')}`);
      }
    } finally {
      disposeSnapshot(theta0);
      disposeSnapshot(thetaT);
      model.dispose();
    }
    return { metrics, extra: { rp, lr, model: modelName, sparsities: s.sparsities }, data: info };
  },
  judge(runs, settings) {
    const out: ClaimVerdict[] = [];
    for (const model of settings.models) {
      const hi = runs.filter((r) => r.armId === `${model}-lr-high`);
      const lo = runs.filter((r) => r.armId === `${model}-lr-low`);
      const tag = model === 'cnn' ? 'small CNN' : `ResNet-${settings.resnetDepth}`;
      const R = metricR(P_CLAIM);

      // 1. R_p at low > at high (unpaired across arms: same seeds, different trainings).
      const d1 = unpaired(lo.map((r) => r.metrics[R]), hi.map((r) => r.metrics[R]));
      out.push(verdict('rp-low-gt-high', tag, d1, 'greater', 0.01, 'R', 3));

      // 2. R_p(high) ≈ p: reproduced when the mean is within 0.05 of p (2-SE interval inside ±0.1).
      const h = summary(hi.map((r) => (r.metrics[R] as number) - P_CLAIM));
      const hse = Number.isFinite(h.se) ? h.se : 0; // n < 2: decided on the mean only (the report says n)
      const near: Verdict =
        h.n === 0 ? 'inconclusive' : Math.abs(h.mean) <= 0.05 && Math.abs(h.mean) + 2 * hse <= 0.1 ? 'reproduced' : Math.abs(h.mean) - 2 * hse > 0.05 ? 'not reproduced' : 'inconclusive';
      out.push({
        claimId: 'rp-high-near-p',
        measured: `${tag}: R_0.2(θ0, θT) = ${(P_CLAIM + h.mean).toFixed(3)} ± ${h.se.toFixed(3)} (SE, n=${h.n}); p = ${P_CLAIM}`,
        verdict: near,
        rule: 'reproduced when |R − p| ≤ 0.05 and |R − p| + 2 SE ≤ 0.1; not reproduced when |R − p| − 2 SE > 0.05; otherwise inconclusive',
      });

      // 3–5: paired accuracy differences inside each run, pooled over sparsities.
      out.push(verdict('pnf-ge-ticket', tag, paired(hi, settings.sparsities, 'pnf', 'ticket'), 'greater', 0.005, 'points', 1));
      const eq = paired(hi, settings.sparsities, 'ticket', 'reinit');
      out.push({
        claimId: 'ticket-eq-reinit-high',
        measured: `${tag}: ticket − re-init = ${points(eq.mean)} ± ${points(eq.se)} points (SE, n=${eq.n} seed×sparsity pairs)`,
        verdict: eqVerdict(eq),
        rule: 'reproduced when the 2-SE interval of ticket − re-init lies inside ±2 points; not reproduced when the ticket wins by more than 1 point beyond 2 SE; otherwise inconclusive',
      });
      if (settings.lowRateArms.includes('ticket') && settings.lowRateArms.includes('reinit')) {
        out.push(verdict('ticket-gt-reinit-low', tag, paired(lo, settings.sparsities, 'ticket', 'reinit'), 'greater', 0.005, 'points', 1));
      }
    }
    return out;
  },
  plots(runs, settings): PlotSpec[] {
    const acc: Array<Record<string, unknown>> = [];
    const rp: Array<Record<string, unknown>> = [];
    for (const r of runs) {
      const armLabel = r.armId;
      acc.push({ arm: armLabel, series: 'dense', sparsity: 0, acc: r.metrics['acc_dense'], seed: r.seed });
      for (const sp of settings.sparsities) {
        for (const a of ['ticket', 'reinit', 'pnf'] as Arm[]) {
          const v = r.metrics[metricAcc(a, sp)];
          if (v !== undefined) acc.push({ arm: armLabel, series: a === 'pnf' ? 'P&F' : a === 'reinit' ? 're-init' : 'ticket', sparsity: sp, acc: v, seed: r.seed });
        }
      }
      for (const pt of ((r.extra?.['rp'] ?? []) as Array<{ p: number; R: number }>)) rp.push({ arm: armLabel, p: pt.p, R: pt.R, seed: r.seed });
    }
    for (const p of settings.ps) rp.push({ arm: 'R = p (no correlation)', p, R: p, seed: 0 });
    return [
      {
        id: 'prune-acc-vs-sparsity',
        title: 'Test accuracy vs sparsity per arm (mean over seeds; dense at 0)',
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          data: { values: acc },
          facet: { field: 'arm', type: 'nominal', title: null },
          columns: 2,
          spec: {
            width: 260,
            height: 180,
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'sparsity', type: 'quantitative', title: 'sparsity', axis: { format: '%' } },
              y: { aggregate: 'mean', field: 'acc', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
              color: { field: 'series', type: 'nominal', title: 'arm' },
            },
          },
        },
      },
      {
        id: 'prune-rp-vs-p',
        title: 'R_p(θ0, θT) vs p at the low and high learning rate (mean over seeds)',
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          data: { values: rp },
          width: 360,
          height: 240,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'p', type: 'quantitative', title: 'p' },
            y: { aggregate: 'mean', field: 'R', type: 'quantitative', title: 'R_p(θ0, θT)' },
            color: { field: 'arm', type: 'nominal', title: 'run' },
          },
        },
      },
    ];
  },
});

export default experiment;

interface Diff {
  mean: number;
  se: number;
  n: number;
}

function summary(values: Array<number | undefined>): Diff {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, se: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, se: n > 1 ? sd / Math.sqrt(n) : NaN, n };
}

function unpaired(a: Array<number | undefined>, b: Array<number | undefined>): Diff {
  const sa = summary(a);
  const sb = summary(b);
  return { mean: sa.mean - sb.mean, se: Math.sqrt((sa.se || 0) ** 2 + (sb.se || 0) ** 2) || NaN, n: Math.min(sa.n, sb.n) };
}

/** Per (seed, sparsity) differences arm a − arm b inside the same run. */
function paired(runs: RunRecord[], sparsities: number[], a: Arm, b: Arm): Diff {
  const diffs: number[] = [];
  for (const r of runs) {
    for (const sp of sparsities) {
      const x = r.metrics[metricAcc(a, sp)];
      const y = r.metrics[metricAcc(b, sp)];
      if (x !== undefined && y !== undefined) diffs.push(x - y);
    }
  }
  return summary(diffs);
}

/** ticket ≈ re-init: the 2-SE interval inside ±2 points → reproduced; the ticket ahead by > 1 point beyond 2 SE → not. */
function eqVerdict(eq: Diff): Verdict {
  if (eq.n === 0 || !Number.isFinite(eq.mean)) return 'inconclusive';
  const se = Number.isFinite(eq.se) ? eq.se : 0; // n < 2: decided on the mean only
  if (Math.abs(eq.mean) + 2 * se <= 0.02) return 'reproduced';
  if (eq.mean - 2 * se > 0.01) return 'not reproduced';
  return 'inconclusive';
}

const points = (v: number): string => (Number.isFinite(v) ? (100 * v).toFixed(2) : 'n/a');

/** The bench rule: reproduced when the difference has the claimed sign beyond 2 SE and minEffect; its opposite → not reproduced. */
function verdict(claimId: string, tag: string, d: Diff, direction: 'greater' | 'less', minEffect: number, unit: 'points' | 'R', digits: number): ClaimVerdict {
  const sign = direction === 'greater' ? 1 : -1;
  const fmt = (v: number): string => (unit === 'points' ? points(v) : Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
  const se = Number.isFinite(d.se) ? d.se : 0;
  let v: Verdict = 'inconclusive';
  if (d.n > 0 && Number.isFinite(d.mean)) {
    if (sign * d.mean > minEffect && sign * d.mean > 2 * se) v = 'reproduced';
    else if (-sign * d.mean > 2 * se && -sign * d.mean > minEffect) v = 'not reproduced';
  }
  const small = d.n < 2 ? ` (n=${d.n} < 2: decided on sign and minimum effect only)` : '';
  return {
    claimId,
    measured: `${tag}: ${fmt(d.mean)} ± ${fmt(d.se)} ${unit === 'points' ? 'points' : ''} (SE, n=${d.n})${small}`.replace('  ', ' '),
    verdict: v,
    rule: `reproduced when the difference is ${direction === 'greater' ? 'positive' : 'negative'}, beyond 2 SE and beyond ${unit === 'points' ? `${points(minEffect)} points` : minEffect}; not reproduced when it has the opposite sign beyond both; otherwise inconclusive`,
  };
}
