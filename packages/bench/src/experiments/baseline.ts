/**
 * The sanity experiment: smallCnn + Adam on Fashion-MNIST, with its learning curve. It exercises the whole path
 * (data, model, trainer, results, report) and is what the test suite runs at the smoke profile.
 */
import * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../data';
import { defineExperiment, type ProfileSettings } from '../experiment';
import { countParams, smallCnn } from '../models';
import { lineChart } from '../plots';
import { armMetric, effectOf, formatDetectable, judgeEffect, summarize } from '../stats';
import { train } from '../train';

/** Settings of one profile. */
export interface BaselineSettings extends ProfileSettings {
  /** Training examples (class-balanced subset); undefined = all. */
  trainSize?: number;
  testSize?: number;
  /** Use the embedded subset even when the full set is on disk (comparable across machines). */
  embedded: boolean;
  epochs: number;
  batchSize: number;
  lr: number;
  /** The claim's floor on mean test accuracy. */
  minAcc: number;
}

const RULE_TEXT =
  'Reproduced when the 95% t interval of the mean test accuracy over seeds lies above the floor; not reproduced when it ' +
  'lies below it; otherwise inconclusive (one seed: no interval, inconclusive).';

export default defineExperiment<BaselineSettings>({
  id: 'baseline',
  title: 'Baseline: smallCnn + Adam on Fashion-MNIST',
  paper: {
    title: 'Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms',
    authors: 'H. Xiao, K. Rasul, R. Vollgraf',
    year: 2017,
    url: 'https://arxiv.org/abs/1708.07747',
  },
  claims: [
    {
      id: 'learns',
      text: "smallCnn + Adam learns Fashion-MNIST: mean test accuracy above the profile's floor (smoke 0.30, quick 0.75, standard 0.88; chance is 0.10)",
      paper: 'Sanity check, not a paper claim; the dataset authors’ benchmark puts small CNNs at roughly 0.9 on the full set',
    },
  ],
  profiles: {
    smoke: { seeds: 1, trainSize: 512, testSize: 256, embedded: true, epochs: 1, batchSize: 64, lr: 3e-3, minAcc: 0.3 },
    quick: { seeds: 2, trainSize: 3000, testSize: 1000, embedded: true, epochs: 3, batchSize: 64, lr: 2e-3, minAcc: 0.75 },
    standard: { seeds: 3, embedded: false, epochs: 10, batchSize: 128, lr: 1e-3, minAcc: 0.88 },
  },
  arms: () => [{ id: 'adam', label: 'smallCnn + Adam' }],
  async run(ctx) {
    const s = ctx.settings;
    const data = await loadFashionMnist({ trainSize: s.trainSize, testSize: s.testSize, dataDir: ctx.dataDir, embedded: s.embedded, seed: 1 });
    ctx.log(`data: ${data.info.name}, ${data.train.n} train / ${data.test.n} test`);
    const model = smallCnn({ seed: ctx.seed, norm: 'batch' });
    const optimizer = tf.train.adam(s.lr);
    try {
      const r = await train({
        model,
        optimizer,
        train: data.train,
        test: data.test,
        epochs: s.epochs,
        batchSize: s.batchSize,
        seed: ctx.seed,
        progress: ctx.progress,
      });
      return {
        metrics: { ...r.final, stepMs: r.stepMs, params: countParams(model) },
        curves: r.curves,
        data: data.info,
      };
    } finally {
      model.dispose();
      optimizer.dispose();
    }
  },
  rules: { 'above-floor-95': RULE_TEXT },
  judge(runs, settings) {
    const accs = armMetric(runs, 'adam', 'testAcc');
    const s = summarize(accs);
    const e = effectOf(accs.map((a) => a - settings.minAcc));
    const j = judgeEffect({ effect: e, direction: 'greater' });
    const ci = Number.isFinite(e.lo) ? `, 95% CI [${(settings.minAcc + e.lo).toFixed(4)}, ${(settings.minAcc + e.hi).toFixed(4)}]` : '';
    return [
      {
        claimId: 'learns',
        measured: `test accuracy ${s.mean.toFixed(4)}${s.n > 1 ? ` ± ${s.std.toFixed(4)} sd` : ''}${ci} (n=${s.n}) vs floor ${settings.minAcc}`,
        verdict: j.verdict,
        verdictText: j.text,
        rule: 'above-floor-95',
        detectable: formatDetectable(e, { digits: 4 }),
      },
    ];
  },
  plots(runs) {
    const rows = runs.flatMap((r) => (r.curves ?? []).map((p) => ({ epoch: p.epoch, testAcc: p['testAcc'], seed: `seed ${r.seed}` })));
    return [
      {
        id: 'per-seed',
        title: 'Test accuracy per seed',
        spec: lineChart({ data: rows, x: 'epoch', y: 'testAcc', color: 'seed', title: 'Baseline: test accuracy per seed', yTitle: 'test accuracy' }),
      },
    ];
  },
});
