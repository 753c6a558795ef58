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
import { compareArms, formatDiff, verdictFromDiff, VERDICT_RULE } from '../stats';
import { lineChart } from '../plots';
import { hostReady } from '../readback';

type ModelName = 'cnn' | 'resnet';
type Arm = 'ticket' | 'reinit' | 'pnf';

interface PruneSettings extends ProfileSettings {
  models: ModelName[];
  /** Use the embedded subset even when the full set is on disk (comparable across machines). */
  embedded: boolean;
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
      embedded: true,
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
      embedded: true,
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
      embedded: false,
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
    const { train: trainSplit, test, info } = await loadFashionMnist({ trainSize: s.trainSize, testSize: s.testSize, dataDir: ctx.dataDir, embedded: s.embedded, seed: 1 });
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
      await hostReady(model, theta0); // the sync reads below (webgpu in Node)
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
            await hostReady(model, masks);
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
      const hiId = `${model}-lr-high`;
      const loId = `${model}-lr-low`;
      const hi = runs.filter((r) => r.armId === hiId);
      const lo = runs.filter((r) => r.armId === loId);
      const tag = model === 'cnn' ? 'small CNN' : `ResNet-${settings.resnetDepth}`;
      const R = metricR(P_CLAIM);

      // 1. R_p at the low rate > at the high rate: two arms, unpaired (Welch SE over seeds).
      const c1 = compareArms(runs, loId, hiId, R);
      out.push({
        claimId: 'rp-low-gt-high',
        measured: `${tag}: R_0.2(low) − R_0.2(high) = ${formatDiff(c1, 3)}`,
        verdict: verdictFromDiff({ diff: c1.diff, se: c1.se, direction: 'greater', minEffect: 0.01 }),
        rule: `${VERDICT_RULE} Minimum effect 0.01.`,
      });

      // 2. R_p(high) ≈ p: an equivalence claim with a ±0.05 margin.
      const h = paired(hi.map((r) => (r.metrics[R] ?? NaN) - P_CLAIM));
      out.push({
        claimId: 'rp-high-near-p',
        measured: `${tag}: R_0.2(θ0, θT) = ${(P_CLAIM + h.mean).toFixed(3)} ± ${fmtSe(h.se, 3)} SE (n=${h.n}); p = ${P_CLAIM}`,
        verdict: equivalence(h, 0.05),
        rule: 'reproduced when |R − p| + 2 SE ≤ 0.05; not reproduced when |R − p| − 2 SE > 0.05; otherwise inconclusive (n < 2: SE taken as 0)',
      });

      // 3–5: paired accuracy differences inside each run (same seed, same mask, same data order), pooled over sparsities.
      const pf = paired(diffs(hi, settings.sparsities, 'pnf', 'ticket'));
      out.push({
        claimId: 'pnf-ge-ticket',
        measured: `${tag}, LR ${settings.lrHigh}: P&F − ticket = ${points(pf.mean)} ± ${fmtSe(100 * pf.se, 2)} points SE (n=${pf.n} seed×sparsity pairs)`,
        verdict: verdictFromDiff({ diff: pf.mean, se: pf.se, direction: 'greater', minEffect: 0.005 }),
        rule: `${VERDICT_RULE} Here the SE is over paired (seed, sparsity) differences; minimum effect 0.5 points.`,
      });
      const eq = paired(diffs(hi, settings.sparsities, 'ticket', 'reinit'));
      out.push({
        claimId: 'ticket-eq-reinit-high',
        measured: `${tag}, LR ${settings.lrHigh}: ticket − re-init = ${points(eq.mean)} ± ${fmtSe(100 * eq.se, 2)} points SE (n=${eq.n} seed×sparsity pairs)`,
        verdict: equivalence(eq, 0.02),
        rule: 'reproduced when |ticket − re-init| + 2 SE ≤ 2 points; not reproduced when |ticket − re-init| − 2 SE > 2 points; otherwise inconclusive (n < 2: SE taken as 0)',
      });
      if (settings.lowRateArms.includes('ticket') && settings.lowRateArms.includes('reinit')) {
        const lw = paired(diffs(lo, settings.sparsities, 'ticket', 'reinit'));
        out.push({
          claimId: 'ticket-gt-reinit-low',
          measured: `${tag}, LR ${settings.lrLow}: ticket − re-init = ${points(lw.mean)} ± ${fmtSe(100 * lw.se, 2)} points SE (n=${lw.n} seed×sparsity pairs)`,
          verdict: verdictFromDiff({ diff: lw.mean, se: lw.se, direction: 'greater', minEffect: 0.005 }),
          rule: `${VERDICT_RULE} Here the SE is over paired (seed, sparsity) differences; minimum effect 0.5 points.`,
        });
      }
    }
    return out;
  },
  plots(runs, settings): PlotSpec[] {
    const plots: PlotSpec[] = [];
    const arms = [...new Set(runs.map((r) => r.armId))].sort();
    for (const armId of arms) {
      const rows: Array<Record<string, unknown>> = [];
      for (const r of runs.filter((x) => x.armId === armId)) {
        for (const series of ['ticket', 'reinit', 'pnf'] as Arm[]) {
          const label = series === 'pnf' ? 'P&F (θT ⊙ m)' : series === 'reinit' ? "random re-init (θ0' ⊙ m)" : 'lottery ticket (θ0 ⊙ m)';
          if (settings.sparsities.some((sp) => r.metrics[metricAcc(series, sp)] !== undefined)) {
            rows.push({ arm: label, sparsity: 0, acc: r.metrics['acc_dense'], seed: r.seed }); // every arm starts at the dense model
          }
          for (const sp of settings.sparsities) {
            const v = r.metrics[metricAcc(series, sp)];
            if (v !== undefined) rows.push({ arm: label, sparsity: sp, acc: v, seed: r.seed });
          }
        }
      }
      plots.push({
        id: `prune-acc-${armId}`,
        title: `Test accuracy vs sparsity, ${armId} (mean ± std over seeds; sparsity 0 = dense)`,
        spec: lineChart({ data: rows, x: 'sparsity', y: 'acc', color: 'arm', detail: 'seed', aggregate: true, xTitle: 'sparsity', yTitle: 'test accuracy' }),
      });
    }
    const rp: Array<Record<string, unknown>> = [];
    for (const r of runs) {
      for (const pt of (r.extra?.['rp'] ?? []) as Array<{ p: number; R: number }>) rp.push({ run: r.armId, p: pt.p, R: pt.R, seed: r.seed });
    }
    for (const p of settings.ps) rp.push({ run: 'R = p (no correlation)', p, R: p, seed: 0 });
    plots.push({
      id: 'prune-rp-vs-p',
      title: 'R_p(θ0, θT) vs p after dense training at the low and high learning rate (mean ± std over seeds)',
      spec: lineChart({ data: rp, x: 'p', y: 'R', color: 'run', detail: 'seed', aggregate: true, xTitle: 'p', yTitle: 'R_p(θ0, θT)', yZero: true }),
    });
    return plots;
  },
});

export default experiment;

interface Diff {
  mean: number;
  se: number;
  n: number;
}

/** Mean and standard error of paired differences (NaN SE when n < 2). */
function paired(values: number[]): Diff {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, se: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, se: sd / Math.sqrt(n), n };
}

/** Per (seed, sparsity) differences arm a − arm b inside the same run. */
function diffs(runs: RunRecord[], sparsities: number[], a: Arm, b: Arm): number[] {
  const out: number[] = [];
  for (const r of runs) {
    for (const sp of sparsities) {
      const x = r.metrics[metricAcc(a, sp)];
      const y = r.metrics[metricAcc(b, sp)];
      if (x !== undefined && y !== undefined) out.push(x - y);
    }
  }
  return out;
}

/** An "≈" claim: the 2-SE interval of the difference inside ±margin → reproduced; outside it beyond 2 SE → not. */
function equivalence(d: Diff, margin: number): Verdict {
  if (d.n === 0 || !Number.isFinite(d.mean)) return 'inconclusive';
  const se = Number.isFinite(d.se) ? d.se : 0;
  if (Math.abs(d.mean) + 2 * se <= margin) return 'reproduced';
  if (Math.abs(d.mean) - 2 * se > margin) return 'not reproduced';
  return 'inconclusive';
}

const fmtSe = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const points = (v: number): string => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}` : 'n/a');
