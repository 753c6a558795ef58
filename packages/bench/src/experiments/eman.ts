/**
 * EMAN (Cai et al., CVPR 2021) in semi-supervised FixMatch on Fashion-MNIST with 1% and 10% of the labels: pseudo-labels
 * from the student (plain FixMatch), from an EMA teacher whose BN uses batch statistics (Mean Teacher style), or from an
 * EMAN teacher (weights and BN statistics averaged, BN in inference mode). Teacher and student are both evaluated.
 *
 * The bench's `train()` walks one split and evaluates once per epoch; FixMatch needs a labeled and an unlabeled stream
 * per step and evaluation every few steps, so this file runs its own small loop over the bench's data, models and
 * `evaluate`.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, withHooks, type HookedOptimizer } from '@trainkit/core';
import { constantMomentum, fixMatchEmanReference, pseudoLabelLoss, pseudoLabels } from '@trainkit/eman';
import { emaTeacher, emanHook, type EmaTeacher } from '@trainkit/eman/layers';
import { batches, loadFashionMnistCached, splitLabeled, weakStrong, type Batch, type Split } from '../data';
import { defineExperiment, type ArmSpec, type ClaimVerdict, type CurvePoint, type DataInfo, type PlotSpec, type ProfileSettings, type RunContext, type RunOutput, type RunRecord } from '../experiment';
import { mlp } from '../models';
import { lineChart } from '../plots';
import { effectOf, formatDetectable, formatEffect, judgeEffect, type Effect } from '../stats';
import { crossEntropy, evaluate } from '../train';

/** Per-profile settings. */
export interface EmanSettings extends ProfileSettings {
  /** Class-balanced pool the labeled/unlabeled split is drawn from (60000 = all of Fashion-MNIST's train set). */
  trainSize: number;
  testSize: number;
  /** Hidden sizes of the bench MLP (flatten → dense → BN → relu … → logits). */
  hidden: number[];
  steps: number;
  /** Evaluate teacher and student every this many steps (and after the last). */
  evalEvery: number;
  /** B: labeled images per step. */
  labeledBatch: number;
  /** μ: unlabeled images per step = μ·B (each as a weak and a strong view). */
  mu: number;
  /** SGD (momentum 0.9) learning rate, constant. */
  lr: number;
  /** τ. */
  threshold: number;
  /** λ_u. */
  unlabeledWeight: number;
  /** Teacher momentum m (constant; the same for the EMA and EMAN teachers). */
  momentum: number;
  /** Coupled L2 weight decay on every student weight (torch SGD `weight_decay`); 0 = none. */
  weightDecay: number;
  /**
   * `'bench'`: the settings above. `'reference'`: the reference code's FixMatch-EMAN defaults (`fixMatchEmanReference`:
   * τ 0.7, λ_u 10, μ 5, m 0.999, weight decay 1e-4) replace threshold, unlabeledWeight, mu, momentum and weightDecay.
   */
  recipe: 'bench' | 'reference';
}

/** The settings a run uses: the profile's, or the reference recipe's where `recipe` is 'reference'. */
export function emanRecipe(s: EmanSettings): EmanSettings {
  if (s.recipe !== 'reference') return s;
  const r = fixMatchEmanReference;
  return { ...s, threshold: r.threshold, unlabeledWeight: r.unlabeledWeight, mu: r.mu, momentum: r.momentum, weightDecay: r.weightDecay };
}

type Method = 'fixmatch' | 'ema' | 'eman';

interface EmanArm extends ArmSpec {
  method: Method;
  /** Share of the pool that keeps its label. */
  fraction: number;
}

const METHOD_LABEL: Record<Method, string> = { fixmatch: 'FixMatch (student labels)', ema: 'EMA teacher (batch-stat BN)', eman: 'EMAN teacher' };
const FRACTIONS = [0.01, 0.1] as const;
const pct = (f: number): string => `${Math.round(f * 100)}%`;
const armId = (m: Method, f: number): string => `${m}-${Math.round(f * 100)}pct`;

const ARMS: EmanArm[] = FRACTIONS.flatMap((fraction) =>
  (['fixmatch', 'ema', 'eman'] as const).map((method) => ({ id: armId(method, fraction), label: `${METHOD_LABEL[method]}, ${pct(fraction)} labels`, method, fraction })),
);

/** Claims are decided on accuracy differences of at least this much (0.5 points). */
const MIN_EFFECT = 0.005;

// One fixed class-balanced pool for every arm and seed; the seed picks the labeled subset, the init and the batches.
function data(trainSize: number, testSize: number): Promise<{ train: Split; test: Split; info: DataInfo }> {
  return loadFashionMnistCached({ trainSize, testSize, seed: 1 });
}

/** An endless stream of batches: epoch after epoch, reshuffled each time. */
function* cycle(split: Split, opts: Omit<Parameters<typeof batches>[1], 'epoch'>): Generator<Batch> {
  for (let epoch = 0; ; epoch++) yield* batches(split, { ...opts, epoch });
}

function disposeBatch(b: Batch): void {
  tf.dispose([b.x, b.y, b.xStrong]);
}

async function runArm(ctx: RunContext<EmanSettings>): Promise<RunOutput> {
  const s = emanRecipe(ctx.settings);
  const arm = ctx.arm as EmanArm;
  const seed = ctx.seed;
  const { train: pool, test, info } = await data(s.trainSize, s.testSize);
  const { labeled, unlabeled } = splitLabeled(pool, { fraction: arm.fraction, seed });
  ctx.log(`${arm.id}: ${labeled.n} labeled, ${unlabeled.n} unlabeled, ${test.n} test (${info.name})`);

  const student = mlp({ hidden: s.hidden, seed: deriveSeed(seed, 'model') });
  const teacher: EmaTeacher | undefined =
    arm.method === 'fixmatch' ? undefined : emaTeacher(student, { schedule: constantMomentum(s.momentum), mode: arm.method });
  const inner = tf.train.momentum(s.lr, 0.9);
  const optimizer: HookedOptimizer = teacher ? withHooks(inner, emanHook(teacher)) : withHooks(inner);
  const aug = weakStrong();
  const B = s.labeledBatch;
  const labStream = cycle(labeled, { batchSize: Math.min(B, labeled.n), seed: deriveSeed(seed, 'labeled'), augment: aug.weak, dropLast: true });
  const unlStream = cycle(unlabeled, { batchSize: s.mu * B, seed: deriveSeed(seed, 'unlabeled'), augment: aug, dropLast: true });

  const curves: CurvePoint[] = [];
  const stepTimes: number[] = [];
  let interval = { steps: 0, mask: 0, maskedCorrect: 0, masked: 0, correct: 0, loss: 0 };
  ctx.progress.start(s.steps, arm.id);
  try {
    for (let step = 1; step <= s.steps; step++) {
      const lb = labStream.next().value as Batch;
      const ub = unlStream.next().value as Batch;
      const t0 = performance.now();
      let stats: tf.Tensor | undefined;
      let lossValue: number;
      try {
        const loss = optimizer.minimize(() => {
          const nl = lb.size;
          const nu = ub.size;
          let logitsL: tf.Tensor;
          let logitsW: tf.Tensor;
          let logitsS: tf.Tensor;
          if (!teacher) {
            // FixMatch: one student forward over cat(x_l, A_w(u), A_s(u)); pseudo-labels from its (detached) weak logits.
            const all = student.apply(tf.concat([lb.x, ub.x, ub.xStrong as tf.Tensor4D], 0), { training: true }) as tf.Tensor2D;
            logitsL = tf.slice(all, [0, 0], [nl, -1]);
            logitsW = tf.slice(all, [nl, 0], [nu, -1]);
            logitsS = tf.slice(all, [nl + nu, 0], [nu, -1]);
          } else {
            // FixMatch-EMAN: the teacher labels A_w(u); the student sees cat(x_l, A_s(u)).
            logitsW = teacher.predict(ub.x);
            const all = student.apply(tf.concat([lb.x, ub.xStrong as tf.Tensor4D], 0), { training: true }) as tf.Tensor2D;
            logitsL = tf.slice(all, [0, 0], [nl, -1]);
            logitsS = tf.slice(all, [nl, 0], [nu, -1]);
          }
          const pl = pseudoLabels(logitsW, { threshold: s.threshold });
          const right = tf.cast(tf.equal(pl.labels, tf.tensor1d(ub.labels, 'int32')), 'float32');
          stats = tf.keep(tf.stack([tf.mean(pl.mask), tf.sum(tf.mul(pl.mask, right)), tf.sum(pl.mask), tf.mean(right)]));
          const lu = pseudoLabelLoss(logitsW, logitsS, { threshold: s.threshold });
          const loss = tf.add(crossEntropy(lb.y, logitsL), tf.mul(lu, s.unlabeledWeight));
          if (!(s.weightDecay > 0)) return loss as tf.Scalar;
          const l2 = tf.addN(student.trainableWeights.map((w) => tf.sum(tf.square(w.read()))));
          return tf.add(loss, tf.mul(l2, s.weightDecay / 2)) as tf.Scalar;
        }, true) as tf.Scalar; // the teacher (if any) is updated by emanHook right after the optimizer step
        const [lv, sv] = await Promise.all([loss.data(), (stats as unknown as tf.Tensor).data()]);
        lossValue = lv[0] as number;
        interval = {
          steps: interval.steps + 1,
          mask: interval.mask + (sv[0] as number),
          maskedCorrect: interval.maskedCorrect + (sv[1] as number),
          masked: interval.masked + (sv[2] as number),
          correct: interval.correct + (sv[3] as number),
          loss: interval.loss + lossValue,
        };
        loss.dispose();
      } finally {
        tf.dispose(stats);
        disposeBatch(lb);
        disposeBatch(ub);
      }
      stepTimes.push(performance.now() - t0);
      if (!Number.isFinite(lossValue)) throw new Error(`${arm.id} seed ${seed}: loss ${lossValue} at step ${step} (diverged)`);
      ctx.progress.tick(1, { loss: lossValue });
      if (step % s.evalEvery === 0 || step === s.steps) {
        const point: CurvePoint = {
          epoch: (step * s.mu * B) / unlabeled.n,
          step,
          trainLoss: interval.loss / interval.steps,
          maskRate: interval.mask / interval.steps,
          pseudoLabelAccAll: interval.correct / interval.steps,
          studentAcc: (await evaluate(student, test, { batchSize: 500 })).acc,
        };
        if (interval.masked > 0) point['pseudoLabelAcc'] = interval.maskedCorrect / interval.masked;
        if (teacher) point['teacherAcc'] = (await evaluate(teacher.model, test, { batchSize: 500 })).acc;
        curves.push(point);
        interval = { steps: 0, mask: 0, maskedCorrect: 0, masked: 0, correct: 0, loss: 0 };
      }
    }
  } finally {
    labStream.return(undefined);
    unlStream.return(undefined);
    optimizer.dispose();
    teacher?.dispose();
    student.dispose();
  }
  const last = curves[curves.length - 1] as CurvePoint;
  const metrics: Record<string, number> = {
    studentAcc: last['studentAcc'] as number,
    maskRate: last['maskRate'] as number,
    pseudoLabelAccAll: last['pseudoLabelAccAll'] as number,
    labeled: labeled.n,
    steps: s.steps,
    stepMs: [...stepTimes].sort((a, b) => a - b)[Math.floor(stepTimes.length / 2)] as number,
  };
  if (typeof last['pseudoLabelAcc'] === 'number') metrics['pseudoLabelAcc'] = last['pseudoLabelAcc'];
  if (teacher) metrics['teacherAcc'] = last['teacherAcc'] as number;
  // The network each method would report: the teacher for the teacher arms, the student for plain FixMatch.
  metrics['reportedAcc'] = metrics['teacherAcc'] ?? metrics['studentAcc'] as number;
  const recipe = { recipe: s.recipe, threshold: s.threshold, unlabeledWeight: s.unlabeledWeight, mu: s.mu, momentum: s.momentum, weightDecay: s.weightDecay };
  return { metrics, curves, data: info, extra: { labeled: labeled.n, unlabeled: unlabeled.n, recipe } };
}

// ---------- judging ----------

/** Per-seed values of `metric` for an arm. */
function bySeed(runs: RunRecord[], id: string, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs) {
    const v = r.metrics[metric];
    if (r.armId === id && typeof v === 'number' && Number.isFinite(v)) out.set(r.seed, v);
  }
  return out;
}

/** Seeds both arms ran (same seed = same labeled subset, init and batches), ascending. */
function common(a: Map<number, number>, b: Map<number, number>): number[] {
  return [...a.keys()].filter((k) => b.has(k)).sort((x, y) => x - y);
}

/** Per-seed differences a − b over the seeds both arms ran. */
function diffs(a: Map<number, number>, b: Map<number, number>): number[] {
  return common(a, b).map((k) => (a.get(k) as number) - (b.get(k) as number));
}

const PTS = { scale: 100, unit: ' points' };

function decide(claimId: string, d: number[], what: string, paperEffect?: number): ClaimVerdict {
  const e: Effect = effectOf(d);
  if (e.n === 0) return { claimId, measured: `no paired runs (${what})`, verdict: 'inconclusive', verdictText: 'no verdict (arms not run)', rule: 'paired-95' };
  const j = judgeEffect({ effect: e, direction: 'greater', minEffect: MIN_EFFECT, paperEffect, format: (x) => `${(100 * x).toFixed(1)} points` });
  return { claimId, measured: `${what}: ${formatEffect(e, PTS)}`, verdict: j.verdict, verdictText: j.text, rule: 'paired-95', detectable: formatDetectable(e, PTS) };
}

/** "A smaller gain at 10%" presupposes a gain at 1%: without a positive one the claim cannot be reproduced. */
function smallerGain(v: ClaimVerdict, gain1: number[]): ClaimVerdict {
  const mean = gain1.length ? gain1.reduce((p, q) => p + q, 0) / gain1.length : NaN;
  if (v.verdict === 'reproduced' && !(mean > 0)) return { ...v, verdict: 'inconclusive', verdictText: 'inconclusive (premise: no gain at 1% labels)', rule: 'premise' };
  return v;
}

/** The recipe a set of runs used, in words (the report's settings JSON shows the profile's values, which `'reference'` replaces). */
function recipeText(s: EmanSettings): string {
  const r = emanRecipe(s);
  return `${s.recipe === 'reference' ? 'reference recipe' : 'bench recipe'}: τ ${r.threshold}, λ_u ${r.unlabeledWeight}, μ ${r.mu}, m ${r.momentum}, wd ${r.weightDecay}`;
}

function judge(runs: RunRecord[], s: EmanSettings): ClaimVerdict[] {
  const acc = (m: Method, f: number, metric: string) => bySeed(runs, armId(m, f), metric);
  const fm1 = acc('fixmatch', 0.01, 'studentAcc');
  const fm10 = acc('fixmatch', 0.1, 'studentAcc');
  const stu1 = acc('eman', 0.01, 'studentAcc');
  const stu10 = acc('eman', 0.1, 'studentAcc');
  // The paper's network is the student (the reference validate() runs self.main): headline = student vs student.
  const gain1 = diffs(stu1, fm1);
  const gain10 = diffs(stu10, fm10);
  const seeds = common(stu1, fm1).filter((k) => stu10.has(k) && fm10.has(k));
  const g = (e: Map<number, number>, f: Map<number, number>, k: number): number => (e.get(k) as number) - (f.get(k) as number);
  const gap = seeds.map((k) => g(stu1, fm1, k) - g(stu10, fm10, k));
  const m = (xs: number[]): string => (xs.length ? (100 * (xs.reduce((p, q) => p + q, 0) / xs.length)).toFixed(2) : 'n/a');
  return [
    decide('eman-student-1pct', gain1, `FixMatch-EMAN student − FixMatch student, 1% labels (${recipeText(s)})`, 0.07),
    smallerGain(decide('smaller-gain-10pct', gap, `student gain at 1% (${m(gain1)}) − at 10% (${m(gain10)})`, 0.05), gain1),
    decide('eman-vs-ema-1pct', diffs(acc('eman', 0.01, 'teacherAcc'), acc('ema', 0.01, 'teacherAcc')), 'secondary: EMAN teacher − EMA teacher, 1% labels'),
    decide('eman-vs-fixmatch-1pct', diffs(acc('eman', 0.01, 'teacherAcc'), fm1), 'secondary: EMAN teacher − FixMatch student, 1% labels'),
  ];
}

// ---------- plots ----------

function plots(runs: RunRecord[]): PlotSpec[] {
  const out: PlotSpec[] = [];
  for (const fraction of FRACTIONS) {
    const rows: Array<Record<string, unknown>> = [];
    for (const r of runs) {
      const a = ARMS.find((x) => x.id === r.armId);
      if (!a || a.fraction !== fraction) continue;
      for (const p of r.curves ?? []) {
        for (const network of ['teacher', 'student'] as const) {
          const v = p[`${network}Acc`];
          if (typeof v === 'number') rows.push({ step: p['step'], testAcc: v, line: `${METHOD_LABEL[a.method]}: ${network}`, seed: r.seed });
        }
      }
    }
    out.push({
      id: `eman-test-acc-${Math.round(fraction * 100)}pct`,
      title: `Test accuracy over training at ${pct(fraction)} labels: teacher and student of each arm (mean ± std over seeds)`,
      spec: lineChart({ data: rows, x: 'step', y: 'testAcc', color: 'line', detail: 'seed', aggregate: true, xTitle: 'training step', yTitle: 'test accuracy' }),
    });
  }
  const pl: Array<Record<string, unknown>> = [];
  for (const r of runs) {
    const a = ARMS.find((x) => x.id === r.armId);
    if (!a) continue;
    for (const p of r.curves ?? []) {
      if (typeof p['pseudoLabelAccAll'] === 'number') pl.push({ step: p['step'], acc: p['pseudoLabelAccAll'], arm: a.label, seed: r.seed });
    }
  }
  out.push({
    id: 'eman-pseudo-label-acc',
    title: 'Accuracy of the pseudo-labels on the unlabeled batches (all samples, before the τ mask; mean ± std over seeds)',
    spec: lineChart({ data: pl, x: 'step', y: 'acc', color: 'arm', order: ARMS.map((a) => a.label), detail: 'seed', aggregate: true, xTitle: 'training step', yTitle: 'pseudo-label accuracy' }),
  });
  return out;
}

export default defineExperiment<EmanSettings>({
  id: 'eman',
  title: 'EMAN: EMA teachers that average BN statistics too, in semi-supervised FixMatch',
  paper: {
    title: 'Exponential Moving Average Normalization for Self-supervised and Semi-supervised Learning',
    authors: 'Z. Cai, A. Ravichandran, S. Maji, C. Fowlkes, Z. Tu, S. Soatto',
    year: 2021,
    url: 'https://arxiv.org/abs/2101.08482',
  },
  claims: [
    {
      id: 'eman-student-1pct',
      text: "Headline: at 1% labels FixMatch-EMAN's student beats plain FixMatch's student (the network the reference code evaluates).",
      paper: 'about +7 top-1 points at 1% ImageNet labels (abstract); the reference validate() runs the student (self.main)',
    },
    {
      id: 'smaller-gain-10pct',
      text: "The student's gain over plain FixMatch is smaller at 10% labels than at 1%.",
      paper: 'about +7 points at 1% vs +2 at 10% (abstract): a gap of about 5 points',
    },
    {
      id: 'eman-vs-ema-1pct',
      text: "Secondary: at 1% labels the EMAN teacher's test accuracy is higher than that of an EMA teacher whose BN uses batch statistics.",
      paper: 'EMAN replaces the standard-BN EMA teacher (no teacher-vs-teacher number in the paper)',
    },
    {
      id: 'eman-vs-fixmatch-1pct',
      text: "Secondary: at 1% labels the EMAN teacher's test accuracy is higher than plain FixMatch's student.",
      paper: 'no number: the paper reports the student (the +7 points are the headline row)',
    },
  ],
  profiles: {
    smoke: { seeds: 1, trainSize: 1000, testSize: 200, hidden: [16], steps: 4, evalEvery: 2, labeledBatch: 8, mu: 2, lr: 0.03, threshold: 0.95, unlabeledWeight: 1, momentum: 0.9, weightDecay: 0, recipe: 'bench' },
    quick: { seeds: 2, trainSize: 6000, testSize: 1000, hidden: [128], steps: 200, evalEvery: 50, labeledBatch: 16, mu: 3, lr: 0.03, threshold: 0.95, unlabeledWeight: 1, momentum: 0.98, weightDecay: 0, recipe: 'bench' },
    standard: { seeds: 3, trainSize: 60000, testSize: 10000, hidden: [256], steps: 800, evalEvery: 100, labeledBatch: 32, mu: 3, lr: 0.03, threshold: 0.95, unlabeledWeight: 1, momentum: 0.99, weightDecay: 0, recipe: 'bench' },
  },
  choices: { recipe: ['bench', 'reference'] },
  arms: () => ARMS,
  run: (ctx) => runArm(ctx),
  judge: (runs, s) => judge(runs, s),
  plots: (runs) => plots(runs),
});
