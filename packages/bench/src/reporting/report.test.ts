import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
      metrics: { testAcc: acc, lr: ctx.seed === 1 ? 0.1 + 0.2 : 0.3 }, // equal up to rounding: the table shows ± 0
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
    expect(md).toMatch(/\| method \| 3 \| 0\.802 ± 0\.00100 \(n=3\) \| 0\.300 ± 0 \(n=3\) \|/);
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

  it('builds in a temporary folder: a crash, a missing folder or a folder without runs leave the previous report whole', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-report-swap-'));
    const backend = { name: 'wasm', device: 'cpu' as const, trainingKernels: 'trainkit', threads: 1 };
    const quiet = createProgress({ stream: { write: () => true } as unknown as NodeJS.WritableStream, tty: false });
    await runJobs(planJobs([exp], { profile: 'quick' }).jobs, { outDir: out, backend, progress: quiet });
    await writeReport({ dirs: [out], outDir: out, experiments: [exp] });
    const snapshot = (): string[] => [
      readFileSync(join(out, 'report.md'), 'utf8'),
      readFileSync(join(out, 'report.html'), 'utf8'),
      ...readdirSync(join(out, 'report-plots')).sort().map((f) => `${f}:${readFileSync(join(out, 'report-plots', f), 'utf8').length}`),
    ];
    const before = snapshot();
    expect(before.length).toBe(6);
    // a result file that is valid JSON but lacks backend and host, with malformed curves: reported by name, no crash
    const bad = join(out, 'toy', 'hand-written.json');
    const real = JSON.parse(readFileSync(join(out, 'toy', readdirSync(join(out, 'toy')).find((f) => f.endsWith('.json'))!), 'utf8')) as Record<string, unknown>;
    const { backend: _b, host: _h, ...partial } = real;
    writeFileSync(bad, JSON.stringify({ ...partial, seed: 9, curves: 'up' }));
    const r = await writeReport({ dirs: [out], outDir: out, experiments: [exp] });
    expect(r.runs).toBe(6);
    expect(r.problems).toEqual([`bad result file skipped: ${bad}: not a valid run record: run.backend is missing; run.curves must be an array; run.host is missing`]);
    const good = snapshot();
    // a crash half-way through (here: in the log callback, after the plots are drawn) changes nothing
    await expect(
      writeReport({ dirs: [out], outDir: out, experiments: [exp], log: () => { throw new Error('crash mid-report'); } }),
    ).rejects.toThrow('crash mid-report');
    expect(snapshot()).toEqual(good);
    // a mistyped folder, or one without a valid run, is an error
    await expect(writeReport({ dirs: [join(out, 'typo-dir')], outDir: out, experiments: [exp] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/results folder .*typo-dir does not exist/) });
    const empty = mkdtempSync(join(tmpdir(), 'trainkit-report-empty-'));
    await expect(writeReport({ dirs: [empty], outDir: out, experiments: [exp] })).rejects.toThrow(/no valid runs in/);
    expect(snapshot()).toEqual(good);
    expect(readdirSync(out).filter((f) => f.startsWith('.report-'))).toEqual([]);
  });

  it("lists arms in the experiment's order, not the result files' order", async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-report-order-'));
    const backend = { name: 'wasm', device: 'cpu' as const, trainingKernels: 'trainkit', threads: 1 };
    const quiet = createProgress({ stream: { write: () => true } as unknown as NodeJS.WritableStream, tty: false });
    const zeta = { ...exp, arms: () => [{ id: 'zeta', label: 'zeta arm' }, { id: 'alpha', label: 'alpha arm' }] } as ExperimentDefinition;
    await runJobs(planJobs([zeta], { profile: 'quick' }).jobs, { outDir: out, backend, progress: quiet });
    const md = readFileSync((await writeReport({ dirs: [out], outDir: out, experiments: [zeta] })).markdown, 'utf8');
    const table = md.slice(md.indexOf('Final metrics per arm'));
    expect(table.indexOf('| zeta arm |')).toBeGreaterThan(0);
    expect(table.indexOf('| zeta arm |')).toBeLessThan(table.indexOf('| alpha arm |')); // files sort alpha… first
  });
});
