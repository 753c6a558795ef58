// Writes a bench report.html from a fixed set of results, with the bench's own functions (no training).
import { compareArms, createProgress, defineExperiment, formatDiff, lineChart, planJobs, runJobs, verdictFromDiff, writeReport } from '@trainkit/bench';

const exp = defineExperiment({
  id: 'fixture',
  title: 'Fixed results for the browser check',
  paper: { title: 'A fixture', authors: 'trainkit', year: 2026, url: 'https://example.org/fixture' },
  claims: [{ id: 'better', text: 'The method beats the baseline', paper: '+10 points' }],
  profiles: { quick: { seeds: 3 } },
  arms: () => [
    { id: 'base', label: 'baseline' },
    { id: 'method', label: 'method' },
  ],
  async run(ctx) {
    const acc = (ctx.arm.id === 'method' ? 0.8 : 0.7) + ctx.seed / 1000;
    return {
      metrics: { testAcc: acc },
      curves: [1, 2, 3].map((epoch) => ({ epoch, testAcc: (acc * epoch) / 3, trainLoss: 1 / epoch })),
      data: { name: 'fixed numbers', trainSize: 10, testSize: 5, source: 'synthetic' },
    };
  },
  judge(runs) {
    const c = compareArms(runs, 'method', 'base', 'testAcc');
    return [{ claimId: 'better', measured: formatDiff(c, 2, 100), verdict: verdictFromDiff({ ...c, direction: 'greater', minEffect: 0.01 }), rule: 'the bench rule' }];
  },
  plots: (runs) => [{ id: 'acc', title: 'Accuracy', spec: lineChart({ data: runs.map((r) => ({ seed: r.seed, acc: r.metrics.testAcc, arm: r.armId })), x: 'seed', y: 'acc', color: 'arm', title: 'Accuracy' }) }],
});

/** Writes report.html into `outDir` and returns its path. */
export async function writeFixtureReport(outDir) {
  const backend = { name: 'wasm', device: 'cpu', trainingKernels: 'trainkit', threads: 1 };
  const quiet = createProgress({ stream: { write: () => true }, tty: false });
  await runJobs(planJobs([exp], { profile: 'quick' }).jobs, { outDir, backend, progress: quiet });
  const r = await writeReport({ dirs: [outDir], outDir, experiments: [exp] });
  if (r.problems.length > 0) throw new Error(`report problems: ${r.problems.join('; ')}`);
  return `${outDir}/report.html`;
}
