/**
 * Experiment `prune`: Liu et al. (ICML 2021), "Lottery Ticket Preserves Weight Correlation: Is It Desirable or Not?".
 *
 * One run = one (model, learning rate) arm × one seed, and it holds every sub-arm that shares the dense training:
 *   1. θ0 → dense training for T epochs → θT; R_p(θ0, θT) for p in `ps` (Fig. 4).
 *   2. Iterative magnitude pruning with rewinding (the paper's main masks): `iterativeMagnitudePruning` prunes `rate`
 *      (20%) of the remaining weights per round, layerwise, first conv left dense (§4.1), and retrains θ0 ⊙ m_r for T
 *      epochs each round: round r's training is the lottery ticket at sparsity 1 − 0.8^r.
 *   3. At each compared round r, with m_r held fixed by maskHook, the same recipe and the same data order:
 *      random re-init (θ0' ⊙ m_r, a fresh draw of the same initialisers) and P&F (θT ⊙ m_r); Table 1's
 *      R((θT⊙m)_T, θ0) and R((θT⊙m)_T, θT) with p relative to the whole layer.
 *   4. Extra arm (high rate): a one-shot magnitude mask on θT at the same sparsity, trained as ticket and as P&F
 *      (the paper's weakest mask, Fig. 6c).
 * Every arm of a seed starts from the same θ0 and sees the same batches; claims are judged on per-seed differences
 * (averaged over the compared sparsities) with 95% t intervals.
 */
import * as tf from '@tensorflow/tfjs';
import { constantSchedule, deriveSeed, piecewiseSchedule, withHooks, type Schedule } from '@trainkit/core';
import {
  disposeMasks,
  disposeSnapshot,
  exportSparse,
  iterativeMagnitudePruning,
  magnitudeMasks,
  maskHook,
  maskSparsity,
  prunableParams,
  restore,
  snapshot,
  weightCorrelation,
  weightCorrelations,
  type Masks,
  type Snapshot,
} from '@trainkit/prune';
import { randomReinit } from '@trainkit/prune/layers';
import { defineExperiment, type ArmSpec, type ClaimVerdict, type PlotSpec, type ProfileSettings, type RunContext, type RunRecord } from '../experiment';
import { augmentFor, loadExperimentData, type DataSettings, type Split } from '../data';
import { resnet, smallCnn } from '../models';
import { evaluate, train } from '../train';
import { effectOf, formatDetectable, formatEffect, judgeEffect, judgeEquivalence, type Effect, type Judgement } from '../stats';
import { lineChart } from '../plots';
import { hostReady } from '../readback';
import { gradualPruneArm } from './prune-gradual';

type ModelName = 'cnn' | 'resnet';
/**
 * ticket/reinit/pnf use the iterative mask of the round; ticket1/pnf1 a one-shot mask on θT of the same sparsity;
 * gradual prunes from θ0 to the round's sparsity during one training (Zhu & Gupta 2017, TF-MOT's PolynomialDecay).
 */
type Arm = 'ticket' | 'reinit' | 'pnf' | 'ticket1' | 'pnf1' | 'gradual';

/** `dataset`, `augment`: see {@link DataSettings} (absent = Fashion-MNIST, no augmentation). */
interface PruneSettings extends ProfileSettings, DataSettings {
  models: ModelName[];
  /** Use the embedded subset even when the full set is on disk (comparable across machines). */
  embedded: boolean;
  trainSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  lrHigh: number;
  lrLow: number;
  /** IMP: fraction of the remaining weights pruned per round (LTH/open_lth's 0.2; the paper does not state it). */
  rate: number;
  /** IMP rounds whose masks the sparse arms are compared at (sparsity 1 − (1 − rate)^r). */
  rounds: number[];
  /** p values of the R_p(θ0, θT) curve. */
  ps: number[];
  /** Which sparse arms run at the low rate besides the IMP ticket (claim 5 needs reinit). */
  lowRateArms: Arm[];
  /** Run the gradual-pruning arm (no claim: a comparison point for TF-MOT users) at the high rate. */
  gradual: boolean;
  /** Run the one-shot mask arms (ticket1, pnf1) at the high rate. */
  oneShot: boolean;
  /** Small CNN size. */
  cnnFilters: [number, number];
  cnnHidden: number;
  resnetDepth: number;
  resnetWidth: number;
}

const P_CLAIM = 0.2;
const pct = (s: number): string => String(Math.round(s * 100));
const metricAcc = (arm: Arm, round: number): string => `acc_${arm}_r${round}`;
const metricR = (p: number): string => `R_${pct(p)}`;
const ARM_LABEL: Record<Arm, string> = {
  ticket: 'ticket (θ0 ⊙ m, IMP)',
  reinit: "re-init (θ0' ⊙ m, IMP)",
  pnf: 'P&F (θT ⊙ m, IMP)',
  ticket1: 'ticket, one-shot mask',
  pnf1: 'P&F, one-shot mask',
  gradual: 'gradual pruning (cubic schedule, from θ0)',
};

const COMMON = {
  lrHigh: 0.1,
  lrLow: 0.01,
  rate: 0.2,
  ps: [0.1, 0.2, 0.3, 0.4, 0.5],
  lowRateArms: ['reinit'] as Arm[],
  oneShot: true,
  gradual: false,
  cnnFilters: [16, 32] as [number, number],
  cnnHidden: 64,
  resnetDepth: 8,
  resnetWidth: 8,
};

/** The model for images of `split`'s shape and classes (28×28×1 / 10 on Fashion-MNIST). */
function modelOf(name: ModelName, s: PruneSettings, seed: number, split: Pick<Split, 'shape' | 'classes'>): tf.LayersModel {
  const io = { inputShape: [...split.shape] as [number, number, number], classes: split.classes };
  return name === 'cnn'
    ? smallCnn({ ...io, seed, filters: s.cnnFilters, hidden: s.cnnHidden })
    : resnet({ ...io, seed, depth: s.resnetDepth, width: s.resnetWidth });
}

/** Paper 1's recipe scaled to T epochs: SGD momentum 0.9, LR ×0.1 at 53% and 80% of training (80/120 of 150). */
function schedule(lr: number, stepsPerEpoch: number, epochs: number): Schedule {
  const total = stepsPerEpoch * epochs;
  const b1 = Math.max(1, Math.round((80 / 150) * total));
  const b2 = Math.max(b1 + 1, Math.round((120 / 150) * total));
  return piecewiseSchedule([constantSchedule(lr), constantSchedule(lr / 10), constantSchedule(lr / 100)], [b1, b2]);
}

const modelTag = (m: ModelName, s: PruneSettings): string => (m === 'cnn' ? 'small CNN' : `ResNet-${s.resnetDepth}`);

const experiment = defineExperiment<PruneSettings>({
  id: 'prune',
  version: 2,
  title: 'Lottery ticket vs pruning & fine-tuning, and the weight correlation R_p',
  paper: {
    title: 'Lottery Ticket Preserves Weight Correlation: Is It Desirable or Not?',
    authors: 'N. Liu, G. Yuan, Z. Che, X. Shen, X. Ma, Q. Jin, J. Ren, J. Tang, S. Liu, Y. Wang',
    year: 2021,
    url: 'https://arxiv.org/abs/2102.11068',
  },
  claims: [
    {
      id: 'pnf-gt-ticket',
      text: 'Headline: at the high learning rate, pruning & fine-tuning beats the lottery ticket with the same (iterative) mask and epochs.',
      paper: 'Fig. 6/7: P&F above the ticket at every sparsity with iterative masks (ResNet-20/CIFAR-10, MobileNet-V2/CIFAR-100; plots only).',
    },
    {
      id: 'rp-low-gt-high',
      text: `R_${P_CLAIM}(θ0, θT) is higher after training at the low learning rate than at the high one.`,
      paper: 'Fig. 4: at LR 0.01 R_p(θ0, θT) is "notably higher" than at LR 0.1 (figure only).',
    },
    {
      id: 'rp-high-near-p',
      text: `At the high learning rate R_${P_CLAIM}(θ0, θT) ≈ p (no correlation between initial and trained weights; margin ±0.05).`,
      paper: 'Fig. 4: at LR 0.1 R_p(θ0, θT) ≈ p (figure only).',
    },
    {
      id: 'ticket-eq-reinit-high',
      text: 'At the high learning rate the lottery ticket is no better than random re-initialisation (ticket ≈ re-init, margin ±2 points).',
      paper: 'Fig. 2: at LR 0.1 ticket ≈ random re-init, both below dense at ≥ 50% sparsity.',
    },
    {
      id: 'ticket-gt-reinit-low',
      text: 'At the low learning rate the lottery ticket beats random re-initialisation.',
      paper: 'Fig. 2: at LR 0.01 the ticket wins (ResNet-20/C10 best ticket 90.04% at 62% sparsity).',
    },
    {
      id: 'table1-pnf-theta0',
      text: `Table 1: the fine-tuned sparse net keeps no correlation with θ0: R_${P_CLAIM}((θT⊙m)_T, θ0) ≈ p (margin ±0.05; p of the whole layer).`,
      paper: 'Table 1 (p = 0.2, 50% masks, LR 0.1): R((θT⊙m)_T, θ0) = 20.1–20.4%.',
    },
    {
      id: 'table1-pnf-thetaT',
      text: `Table 1: the fine-tuned sparse net stays correlated with θT: R_${P_CLAIM}((θT⊙m)_T, θT) > R_${P_CLAIM}((θT⊙m)_T, θ0).`,
      paper: 'Table 1: R((θT⊙m)_T, θT) = 48–65% vs 20.1–20.4% to θ0.',
    },
    {
      id: 'pnf-gt-ticket-oneshot',
      text: 'Secondary (extra arm): P&F beats the ticket with a one-shot mask too, at the high learning rate.',
      paper: 'Fig. 6c: one-shot masks, P&F above the ticket (plots only).',
    },
    {
      id: 'iterative-gt-oneshot',
      text: 'Secondary: P&F with the iterative mask beats P&F with a one-shot mask of the same sparsity.',
      paper: 'Fig. 6c: mask quality ADMM > iterative > one-shot (plots only).',
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
      rounds: [1],
      ps: [0.2],
      cnnFilters: [4, 8],
      cnnHidden: 16,
      gradual: true,
    },
    quick: {
      ...COMMON,
      seeds: 2,
      models: ['cnn'],
      embedded: true,
      trainSize: 600,
      testSize: 1000,
      epochs: 2,
      batchSize: 50,
      rounds: [3, 7],
      cnnFilters: [8, 16],
      cnnHidden: 32,
    },
    standard: {
      // Per (model, seed): high rate 1 dense + 9 IMP rounds + 2 × 4 arms, low rate 1 + 9 + 2 = 30 trainings of
      // 3,000 images × 4 epochs; rounds 3 and 9 give 48.8% (Table 1's 50%) and 86.6% sparsity.
      ...COMMON,
      seeds: 3,
      models: ['cnn', 'resnet'],
      embedded: false,
      trainSize: 3000,
      testSize: 2000,
      epochs: 4,
      batchSize: 128,
      rounds: [3, 9],
      gradual: true,
    },
  },
  arms(settings): ArmSpec[] {
    return settings.models.flatMap((model) => [
      { id: `${model}-lr-high`, label: `${modelTag(model, settings)}, LR ${settings.lrHigh}`, model, rate: 'high' },
      { id: `${model}-lr-low`, label: `${modelTag(model, settings)}, LR ${settings.lrLow}`, model, rate: 'low' },
    ]);
  },
  async run(ctx: RunContext<PruneSettings>) {
    const s = ctx.settings;
    const modelName = ctx.arm['model'] as ModelName;
    const high = ctx.arm['rate'] === 'high';
    const lr = high ? s.lrHigh : s.lrLow;
    const { train: trainSplit, test, info } = await loadExperimentData(s, ctx.dataDir, { what: 'prune' });
    const stepsPerEpoch = Math.ceil(trainSplit.n / s.batchSize);
    const extraArms: Arm[] = high
      ? ['reinit', 'pnf', ...(s.oneShot ? (['ticket1', 'pnf1'] as Arm[]) : []), ...(s.gradual ? (['gradual'] as Arm[]) : [])]
      : s.lowRateArms.filter((a) => a !== 'ticket');
    const maxRound = Math.max(...s.rounds);
    const nTrainings = 1 + maxRound + s.rounds.length * extraArms.length;
    ctx.progress.start(nTrainings * stepsPerEpoch * s.epochs, `${ctx.arm.id} seed ${ctx.seed}`);

    const model = modelOf(modelName, s, ctx.seed, trainSplit);
    const kernels = prunableParams(model, { excludeFirstConv: true }); // §4.1: the first conv is not pruned
    // Every phase: fresh SGD-momentum optimizer and schedule, the same data order (seed) — only the start differs.
    const fit = async (masks: Masks | null): Promise<number> => {
      await hostReady(masks); // maskHook checks the masks synchronously (webgpu in Node)
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
          augment: augmentFor(s),
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
    let thetaT: Snapshot | null = null;
    let imp: Awaited<ReturnType<typeof iterativeMagnitudePruning>> | null = null;
    try {
      // Dense training (round 0) and the IMP rounds: round r trains θ0 ⊙ m_r, the ticket at 1 − (1 − rate)^r.
      imp = await iterativeMagnitudePruning({
        model,
        params: kernels,
        rounds: maxRound,
        rate: s.rate,
        epochs: s.epochs,
        scope: 'layer',
        keepSnapshots: 'none',
        train: async (_epochs, c) => {
          const acc = await fit(c.masks);
          if (c.round === 0) {
            await hostReady(model); // the sync reads below (webgpu)
            thetaT = snapshot(model);
            metrics['bytes_dense'] = exportSparse(model, new Map()).byteLength;
          }
          return { acc };
        },
      });
      const dense = imp.rounds[0];
      if (!thetaT || !dense) throw new Error('prune experiment: IMP returned no dense round');
      const T = thetaT as Snapshot;
      metrics['acc_dense'] = dense.metrics['acc'] as number;
      await hostReady(theta0, T);
      const rs = weightCorrelations(theta0, T, s.ps);
      s.ps.forEach((p, i) => {
        metrics[metricR(p)] = rs[i] as number;
        rp.push({ p, R: rs[i] as number });
      });
      if (!s.ps.includes(P_CLAIM)) metrics[metricR(P_CLAIM)] = weightCorrelation(theta0, T, P_CLAIM);
      for (const r of imp.rounds.slice(1)) metrics[`acc_imp_r${r.round}`] = r.metrics['acc'] as number;
      ctx.log(`${ctx.arm.id} seed ${ctx.seed}: dense acc ${metrics['acc_dense'].toFixed(4)}, R_0.2(θ0, θT) ${(metrics[metricR(P_CLAIM)] as number).toFixed(3)}`);

      for (const round of s.rounds) {
        const entry = imp.rounds[round];
        const masks = entry?.masks;
        if (!entry || !masks) throw new Error(`prune experiment: IMP has no round ${round}`);
        const sp = entry.sparsity;
        metrics[`sparsity_r${round}`] = sp;
        metrics[metricAcc('ticket', round)] = entry.metrics['acc'] as number;
        let oneShot: Masks | null = null;
        try {
          for (const arm of extraArms) {
            if (arm === 'gradual') {
              restore(model, theta0);
              const g = await gradualPruneArm({
                model,
                kernels,
                sparsity: sp,
                lr,
                learningRate: schedule(lr, stepsPerEpoch, s.epochs),
                train: trainSplit,
                test,
                epochs: s.epochs,
                batchSize: s.batchSize,
                seed: deriveSeed(ctx.seed, 'data'),
                progress: { start: () => {}, tick: (n, m) => ctx.progress.tick(n, m) },
              });
              metrics[metricAcc('gradual', round)] = g.acc;
              metrics[`bytes_gradual_r${round}`] = g.bytes;
              continue;
            }
            if (arm === 'pnf') restore(model, T, { masks });
            else if (arm === 'reinit') {
              restore(model, theta0);
              randomReinit(model, deriveSeed(ctx.seed, 'reinit', round), { masks });
            } else {
              if (!oneShot) {
                restore(model, T);
                await hostReady(model, masks);
                oneShot = magnitudeMasks(kernels, { sparsity: maskSparsity(masks), scope: 'layer' });
              }
              restore(model, arm === 'ticket1' ? theta0 : T, { masks: oneShot });
            }
            metrics[metricAcc(arm, round)] = await fit(arm === 'ticket1' || arm === 'pnf1' ? oneShot : masks);
            if (arm === 'pnf') {
              await hostReady(model, masks);
              metrics[`bytes_sparse_r${round}`] = exportSparse(model, masks).byteLength;
              // Table 1: R((θT⊙m)_T, θ0) and R((θT⊙m)_T, θT), p of the whole layer (App. F: p < 1 − sparsity).
              if (P_CLAIM <= 1 - sp - 0.01) {
                metrics[`R20_pnf_theta0_r${round}`] = weightCorrelation(model, theta0, P_CLAIM, masks, { pOf: 'layer' });
                metrics[`R20_pnf_thetaT_r${round}`] = weightCorrelation(model, T, P_CLAIM, masks, { pOf: 'layer' });
              }
            }
          }
        } finally {
          disposeMasks(oneShot);
        }
        ctx.log(`  r=${round} (${(100 * sp).toFixed(1)}%): ${['ticket' as Arm, ...extraArms].map((a) => `${a} ${(metrics[metricAcc(a, round)] as number).toFixed(4)}`).join(', ')}`);
      }
    } finally {
      imp?.dispose();
      disposeSnapshot(theta0);
      disposeSnapshot(thetaT);
      model.dispose();
    }
    return { metrics, extra: { rp, lr, model: modelName, rounds: s.rounds }, data: info };
  },
  judge(runs, settings) {
    const out: ClaimVerdict[] = [];
    const pts = { scale: 100, unit: ' points' };
    const push = (claimId: string, tag: string, e: Effect, j: Judgement, rule: string, what: string, fmt = pts, unitWhat = 'seeds'): void => {
      out.push({ claimId, measured: `${tag}: ${what} = ${formatEffect(e, { ...fmt, what: unitWhat })}`, verdict: j.verdict, verdictText: j.text, rule, detectable: formatDetectable(e, fmt) });
    };
    for (const model of settings.models) {
      const hi = runs.filter((r) => r.armId === `${model}-lr-high`);
      const lo = runs.filter((r) => r.armId === `${model}-lr-low`);
      const tag = modelTag(model, settings);
      const R = metricR(P_CLAIM);
      const rnd = settings.rounds;
      const raw = { scale: 1, unit: '', digits: 3 };

      const pf = effectOf(perSeed(hi, rnd, (r, k) => diff(r, metricAcc('pnf', k), metricAcc('ticket', k))));
      push('pnf-gt-ticket', tag, pf, judgeEffect({ effect: pf, direction: 'greater', minEffect: 0.005 }), 'paired-95', `LR ${settings.lrHigh}, P&F − ticket (mean over ${rnd.length} sparsities)`);

      const c1 = effectOf(pairBySeed(lo, hi, R));
      push('rp-low-gt-high', tag, c1, judgeEffect({ effect: c1, direction: 'greater', minEffect: 0.01 }), 'paired-95', 'R_0.2(low) − R_0.2(high)', raw);

      const h = effectOf(hi.map((r) => (r.metrics[R] ?? NaN) - P_CLAIM));
      push('rp-high-near-p', tag, h, judgeEquivalence(h, 0.05), 'equivalence-95', `R_0.2(θ0, θT) − p (R = ${(P_CLAIM + h.mean).toFixed(3)})`, raw);

      const eq = effectOf(perSeed(hi, rnd, (r, k) => diff(r, metricAcc('ticket', k), metricAcc('reinit', k))));
      push('ticket-eq-reinit-high', tag, eq, judgeEquivalence(eq, 0.02), 'equivalence-95', `LR ${settings.lrHigh}, ticket − re-init`);

      const lw = effectOf(perSeed(lo, rnd, (r, k) => diff(r, metricAcc('ticket', k), metricAcc('reinit', k))));
      push('ticket-gt-reinit-low', tag, lw, judgeEffect({ effect: lw, direction: 'greater', minEffect: 0.005 }), 'paired-95', `LR ${settings.lrLow}, ticket − re-init`);

      const first = rnd.find((k) => hi.some((r) => r.metrics[`R20_pnf_theta0_r${k}`] !== undefined));
      if (first !== undefined) {
        const sp = hi.map((r) => r.metrics[`sparsity_r${first}`]).find((v) => v !== undefined) ?? NaN;
        const t0 = effectOf(hi.map((r) => (r.metrics[`R20_pnf_theta0_r${first}`] ?? NaN) - P_CLAIM));
        push('table1-pnf-theta0', tag, t0, judgeEquivalence(t0, 0.05), 'equivalence-95', `at ${(100 * sp).toFixed(1)}% sparsity, R_0.2((θT⊙m)_T, θ0) − p (R = ${(P_CLAIM + t0.mean).toFixed(3)})`, raw);
        const tT = effectOf(hi.map((r) => (r.metrics[`R20_pnf_thetaT_r${first}`] ?? NaN) - (r.metrics[`R20_pnf_theta0_r${first}`] ?? NaN)));
        const toT = hi.map((r) => r.metrics[`R20_pnf_thetaT_r${first}`] ?? NaN).filter(Number.isFinite);
        push('table1-pnf-thetaT', tag, tT, judgeEffect({ effect: tT, direction: 'greater', minEffect: 0.01 }), 'paired-95', `R_0.2((θT⊙m)_T, θT) − R_0.2((θT⊙m)_T, θ0) (to θT: ${(toT.reduce((a, b) => a + b, 0) / Math.max(1, toT.length)).toFixed(3)})`, raw);
      }

      if (hi.some((r) => rnd.some((k) => r.metrics[metricAcc('pnf1', k)] !== undefined))) {
        const o = effectOf(perSeed(hi, rnd, (r, k) => diff(r, metricAcc('pnf1', k), metricAcc('ticket1', k))));
        push('pnf-gt-ticket-oneshot', tag, o, judgeEffect({ effect: o, direction: 'greater', minEffect: 0.005 }), 'paired-95', `LR ${settings.lrHigh}, one-shot masks, P&F − ticket`);
        const it = effectOf(perSeed(hi, rnd, (r, k) => diff(r, metricAcc('pnf', k), metricAcc('pnf1', k))));
        push('iterative-gt-oneshot', tag, it, judgeEffect({ effect: it, direction: 'greater', minEffect: 0.005 }), 'paired-95', `LR ${settings.lrHigh}, P&F iterative − P&F one-shot mask`);
      }
    }
    return out;
  },
  plots(runs, settings): PlotSpec[] {
    const plots: PlotSpec[] = [];
    const armIds = [...new Set(runs.map((r) => r.armId))].sort();
    for (const armId of armIds) {
      const rows: Array<Record<string, unknown>> = [];
      for (const r of runs.filter((x) => x.armId === armId)) {
        for (const series of Object.keys(ARM_LABEL) as Arm[]) {
          if (!settings.rounds.some((k) => r.metrics[metricAcc(series, k)] !== undefined)) continue;
          rows.push({ arm: ARM_LABEL[series], sparsity: 0, acc: r.metrics['acc_dense'], seed: r.seed }); // every arm starts at the dense model
          for (const k of settings.rounds) {
            const v = r.metrics[metricAcc(series, k)];
            if (v !== undefined) rows.push({ arm: ARM_LABEL[series], sparsity: r.metrics[`sparsity_r${k}`], acc: v, seed: r.seed });
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

/** metric a − metric b of one run (NaN when either is missing). */
function diff(r: RunRecord, a: string, b: string): number {
  const x = r.metrics[a];
  const y = r.metrics[b];
  return x !== undefined && y !== undefined ? x - y : NaN;
}

/** One value per seed: the mean over the compared rounds of `f(run, round)` (rounds where it is NaN are left out). */
function perSeed(runs: RunRecord[], rounds: number[], f: (r: RunRecord, round: number) => number): number[] {
  return [...runs]
    .sort((a, b) => a.seed - b.seed)
    .map((r) => {
      const xs = rounds.map((k) => f(r, k)).filter(Number.isFinite);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
    });
}

/** Per-seed differences of `metric` between two arms' runs (same seed = same θ0 and data order). */
function pairBySeed(a: RunRecord[], b: RunRecord[], metric: string): number[] {
  const bs = new Map(b.map((r) => [r.seed, r.metrics[metric]]));
  return [...a]
    .sort((x, y) => x.seed - y.seed)
    .map((r) => {
      const y = bs.get(r.seed);
      const x = r.metrics[metric];
      return x !== undefined && y !== undefined ? x - y : NaN;
    });
}
