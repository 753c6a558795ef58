import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineExperiment, type ExperimentDefinition } from '../experiment';
import { scatter } from '../plots';
import { createProgress } from '../progress';
import { planJobs, runJobs } from '../runner';
import { compareArms, formatDiff, verdictFromDiff } from '../stats';
import { writeReport } from './index';

const exp = defineExperiment({
  id: 'toy',
  title: 'Toy method',
  paper: { title: 'A toy paper', authors: 'A. Author', year: 2021, url: 'https://example.org/toy' },
  claims: [{ id: 'better', text: 'The method beats the baseline', paper: '+2 points' }],
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
      data: { name: 'synthetic toy data', trainSize: 10, testSize: 5, source: 'synthetic' },
    };
  },
  judge(runs) {
    const c = compareArms(runs, 'method', 'base', 'testAcc');
    return [{ claimId: 'better', measured: formatDiff(c, 2, 100), verdict: verdictFromDiff({ ...c, direction: 'greater', minEffect: 0.01 }), rule: 'the bench rule' }];
  },
  plots: (runs) => [{ id: 'own', title: 'Own plot', spec: scatter({ data: runs.map((r) => ({ seed: r.seed, acc: r.metrics['testAcc'] })), x: 'seed', y: 'acc', title: 'Own plot' }) }],
}) as ExperimentDefinition;

describe('report', () => {
  it('judges claims, names backend/profile/data, renders SVG plots into self-contained HTML and markdown', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-report-'));
    const backend = { name: 'wasm', device: 'cpu' as const, trainingKernels: 'trainkit', threads: 1 };
    const quiet = createProgress({ stream: { write: () => true } as unknown as NodeJS.WritableStream, tty: false });
    await runJobs(planJobs([exp], { profile: 'quick' }).jobs, { outDir: out, backend, progress: quiet });
    const r = await writeReport({ dirs: [out], outDir: out, experiments: [exp] });
    expect(r.problems).toEqual([]);
    expect(r.runs).toBe(6);
    expect(r.claims).toEqual([
      expect.objectContaining({ experimentId: 'toy', claimId: 'better', verdict: 'reproduced', context: 'quick, wasm (cpu), synthetic toy data' }),
    ]);
    const md = readFileSync(r.markdown, 'utf8');
    expect(md).toContain('| `toy` | The method beats the baseline | +2 points | +10.00 ± 0.08 SE (n=3 vs 3) | reproduced | quick, wasm (cpu), synthetic toy data |');
    expect(md).toMatch(/profile \*\*quick\*\* · backend \*\*wasm\*\* \(cpu, trainkit training kernels, 1 thread\); data \*\*synthetic toy data\*\*/);
    expect(md).toMatch(/\| method \| 3 \| 0\.802 ± 0\.00100 \(n=3\) \|/);
    // learning curves (acc, loss), final accuracy per arm, the experiment's own plot
    expect(r.plots).toBe(4);
    const svgs = readdirSync(join(out, 'report-plots'));
    expect(svgs.sort()).toEqual(['toy-quick-wasm-curve-acc.svg', 'toy-quick-wasm-curve-loss.svg', 'toy-quick-wasm-final.svg', 'toy-quick-wasm-own.svg']);
    for (const f of svgs) expect(md).toContain(`](report-plots/${f})`);
    const html = readFileSync(r.html, 'utf8');
    expect(html.match(/<svg[^>]*>/g)).toHaveLength(4);
    expect(html).toContain('Test accuracy (mean ± std over seeds; quick, wasm/cpu)');
    expect(html).not.toMatch(/<script|<link|<img|src="http/);
    expect(html).toContain('class="v-reproduced">reproduced<');
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  });
});
