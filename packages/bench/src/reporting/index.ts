import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrainkitError } from '@trainkit/core';
import type { ClaimVerdict, ExperimentDefinition, PlotSpec, ProfileSettings } from '../experiment';
import { barWithErrors, lineChart } from '../plots';
import { readRuns, writeJsonAtomic, type StoredRun } from '../results';
import { RULES, summarize } from '../stats';
import { formatDuration } from '../progress';
import { toHtml, toMarkdown, type Block } from './doc';
import { renderSvg } from './svg';

/** Options of {@link writeReport}. */
export interface ReportOptions {
  /** Results folders to merge (each holds `<experiment>/<run-id>.json`). */
  dirs: string[];
  /** Where report.md, report.html and report-plots/ go. */
  outDir: string;
  experiments: readonly ExperimentDefinition[];
  log?: (line: string) => void;
}

/** What {@link writeReport} wrote. */
export interface ReportSummary {
  markdown: string;
  html: string;
  runs: number;
  plots: number;
  claims: Array<{ experimentId: string; context: string } & ClaimVerdict>;
  problems: string[];
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (Number.isInteger(v) && a < 1e6) return String(v);
  if (a >= 1e6) return v.toExponential(2);
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(3);
  return v.toPrecision(3);
}

function metricCell(values: number[]): string {
  const s = summarize(values);
  if (s.n === 0) return '–';
  if (s.n === 1) return `${fmtNumber(s.mean)} (n=1)`;
  // equal values can leave a rounding-level std (0.05 ± 8.5e-18): print it as 0
  const std = s.std <= 1e-9 * Math.max(1, Math.abs(s.mean)) ? 0 : s.std;
  return `${fmtNumber(s.mean)} ± ${fmtNumber(std)} (n=${s.n})`;
}

/** Context of a group of runs: every number in the report is labelled with it. */
function contextOf(r: StoredRun): { key: string; text: string } {
  const b = r.backend;
  const adapter = b.adapter ? `, adapter ${b.adapter}` : '';
  const text = `profile **${r.profile}** · backend **${b.name}** (${b.device}${adapter}, ${b.trainingKernels} training kernels, ${b.threads} thread${b.threads === 1 ? '' : 's'})`;
  return { key: `${r.profile}|${b.name}|${b.device}|${b.adapter ?? ''}`, text };
}

/** Rows sorted (stably) by the place of their arm label in `order`, the experiment's arm order; unknown arms last. */
function byOrder<T>(rows: readonly T[], order: readonly string[], labelOf: (row: T) => string): T[] {
  const at = (label: string): number => (order.includes(label) ? order.indexOf(label) : order.length);
  return [...rows].sort((x, y) => at(labelOf(x)) - at(labelOf(y)));
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

const PREFERRED = ['testAcc', 'testLoss', 'trainLoss'];

/**
 * Reads the runs in `dirs`, judges every claim, renders the plots (Vega-Lite → Vega → SVG) and writes `report.md`,
 * `report.html` (self-contained: inline SVG and CSS) and `report-plots/*.svg` into `outDir`. Everything is built in a
 * temporary folder inside `outDir` and swapped in at the end, so a crash leaves the previous report whole.
 *
 * @returns what was written and the claims with their verdicts
 * @throws TrainkitError `INVALID_ARGUMENT` when a results folder does not exist or holds no valid run (the previous
 * report is left as it was)
 */
export async function writeReport(opts: ReportOptions): Promise<ReportSummary> {
  for (const d of opts.dirs) {
    if (!existsSync(d) || !statSync(d).isDirectory()) throw new TrainkitError('INVALID_ARGUMENT', `results folder ${d} does not exist (or is not a folder)`, 'dir');
  }
  const { runs, bad, superseded } = readRuns(opts.dirs);
  if (runs.length === 0) {
    const why = bad.length ? `; ${bad.length} bad result file(s), e.g. ${bad[0]?.file}: ${bad[0]?.reason}` : '';
    throw new TrainkitError('INVALID_ARGUMENT', `no valid runs in ${opts.dirs.join(', ')}${why}; the previous report (if any) is left as it was`, 'dir');
  }
  mkdirSync(opts.outDir, { recursive: true });
  removeLeftovers(opts.outDir);
  const tmp = mkdtempSync(join(opts.outDir, '.report-tmp-'));
  try {
    const built = await buildReport(opts, tmp, runs, bad, superseded);
    swapIn(tmp, opts.outDir);
    return { ...built, markdown: join(opts.outDir, 'report.md'), html: join(opts.outDir, 'report.html') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes temp and old folders of reports that crashed more than 10 minutes ago. */
function removeLeftovers(outDir: string): void {
  for (const name of readdirSync(outDir)) {
    if (!name.startsWith('.report-tmp-') && !name.startsWith('.report-old-')) continue;
    try {
      if (Date.now() - statSync(join(outDir, name)).mtimeMs > 10 * 60_000) rmSync(join(outDir, name), { recursive: true, force: true });
    } catch {
      // removed by another report
    }
  }
}

/** Moves a built report (report-plots/, report.md, report.html) from `tmp` into `outDir`; each rename is atomic. */
function swapIn(tmp: string, outDir: string): void {
  const plots = join(outDir, 'report-plots');
  const old = `${join(outDir, '.report-old-')}${process.pid}-${Date.now()}`;
  if (existsSync(plots)) renameSync(plots, old);
  renameSync(join(tmp, 'report-plots'), plots);
  renameSync(join(tmp, 'report.md'), join(outDir, 'report.md'));
  renameSync(join(tmp, 'report.html'), join(outDir, 'report.html'));
  rmSync(old, { recursive: true, force: true });
}

async function buildReport(opts: ReportOptions, tmp: string, runs: StoredRun[], bad: Array<{ file: string; reason: string }>, superseded: number): Promise<ReportSummary> {
  const log = opts.log ?? (() => {});
  const problems: string[] = bad.map((b) => `bad result file skipped: ${b.file}: ${b.reason}`);
  const old = runs.filter((r) => !r.identity).length;
  if (old > 0) problems.push(`${old} run(s) were stored by an older bench without a data identity (schema 1); \`trainkit-bench run\` re-runs them`);
  if (superseded > 0) problems.push(`${superseded} older run(s) of the same experiment, arm, seed, profile and backend were superseded by newer ones and left out`);
  const plotDir = join(tmp, 'report-plots');
  mkdirSync(plotDir, { recursive: true });
  const claimsOut: ReportSummary['claims'] = [];
  const body: Block[] = [];
  let plotCount = 0;

  const addPlot = async (blocks: Block[], id: string, title: string, spec: Record<string, unknown>): Promise<void> => {
    try {
      const svg = await renderSvg(spec);
      const file = `${slug(id)}.svg`;
      writeFileSync(join(plotDir, file), svg);
      blocks.push({ kind: 'plot', title, svg, file: `report-plots/${file}` });
      plotCount++;
    } catch (e) {
      problems.push(`plot ${id} could not be rendered: ${(e as Error).message}`);
    }
  };

  const known = new Map(opts.experiments.map((e) => [e.id, e]));
  const byExperiment = groupBy(runs, (r) => r.experimentId);
  const order = [...opts.experiments.map((e) => e.id).filter((id) => byExperiment.has(id)), ...[...byExperiment.keys()].filter((id) => !known.has(id))];
  const summaryRows: string[][] = [];
  const rulesUsed = new Map<string, string>();

  for (const expId of order) {
    const expRuns = byExperiment.get(expId) ?? [];
    const exp = known.get(expId);
    body.push({ kind: 'heading', level: 2, text: exp ? `${exp.title} (\`${expId}\`)` : `\`${expId}\``, id: slug(expId) });
    if (exp) body.push({ kind: 'para', text: `Paper: ${exp.paper.authors}, “${exp.paper.title}” (${exp.paper.year}), [${exp.paper.url}](${exp.paper.url}).` });
    else body.push({ kind: 'para', text: 'This experiment is not in the registry of this build: its runs are tabulated, its claims cannot be judged.' });

    for (const [, group] of groupBy(expRuns, (r) => contextOf(r).key)) {
      const first = group[0] as StoredRun;
      const ctx = contextOf(first);
      const dataNames = [...new Set(group.map((r) => r.data?.name ?? 'not recorded'))];
      const dataText = dataNames.join('; ');
      const ctxPlain = `${first.profile}, ${first.backend.name} (${first.backend.device}${first.backend.adapter ? `, ${first.backend.adapter}` : ''}), ${dataText}`;
      const ctxId = `${expId}-${first.profile}-${first.backend.name}`;
      const runArms = [...new Map(group.map((r) => [r.armId, r.arm])).values()];
      // Every arm of the experiment in its own order: an arm keeps its colour and marker in every plot of the section.
      let order: string[] = runArms.map((a) => a.label);
      try {
        if (exp) order = [...new Set([...exp.arms((first.settings ?? exp.profiles[first.profile]) as ProfileSettings, first.profile).map((a) => a.label), ...order])];
      } catch {
        // arms() of an older settings shape: keep the order of the runs
      }
      const arms = byOrder(runArms, order, (a) => a.label);
      const seeds = [...new Set(group.map((r) => r.seed))].sort((a, b) => a - b);
      const wall = group.reduce((a, r) => a + r.wallMs, 0);
      body.push({ kind: 'heading', level: 3, text: `${first.profile} · ${first.backend.name} (${first.backend.device}${first.backend.adapter ? `, ${first.backend.adapter}` : ''})` });
      body.push({
        kind: 'para',
        text: `All numbers in this section: ${ctx.text}; data **${dataText}**. ${group.length} run${group.length === 1 ? '' : 's'} (${arms.length} arm${arms.length === 1 ? '' : 's'} × seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}), ${formatDuration(wall / 1000)} of training in total; host ${first.host.cpuModel} (${first.host.cpus} cores).`,
      });

      // Claims
      if (exp) {
        const settings = (first.settings ?? exp.profiles[first.profile]) as ProfileSettings;
        let verdicts: ClaimVerdict[] = [];
        try {
          verdicts = exp.judge(group, settings);
        } catch (e) {
          problems.push(`${expId}: judge() failed: ${(e as Error).message}`);
        }
        if (verdicts.length) {
          // Smoke is a plumbing check: its rows carry no verdict.
          const smoke = first.profile === 'smoke';
          const rows = verdicts.map((v) => {
            const spec = exp.claims.find((c) => c.id === v.claimId);
            const shown = smoke ? 'no verdict (smoke)' : (v.verdictText ?? v.verdict);
            const rule = smoke ? 'smoke' : v.rule;
            rulesUsed.set(rule, exp.rules?.[rule] ?? RULES[rule] ?? rule);
            claimsOut.push({ experimentId: expId, context: ctxPlain, ...v, verdictText: shown });
            summaryRows.push([`\`${expId}\``, spec?.text ?? v.claimId, spec?.paper ?? '', v.measured, shown, ctxPlain]);
            return [spec?.text ?? v.claimId, spec?.paper ?? '', v.measured, shown, rule];
          });
          body.push({ kind: 'heading', level: 4, text: 'Claims' });
          body.push({ kind: 'table', headers: ['claim', 'paper', `measured (${ctxPlain})`, 'verdict', 'rule'], rows });
          const detectable = verdicts.filter((v) => v.detectable).map((v) => `${v.claimId} ${v.detectable}`);
          if (detectable.length) {
            body.push({ kind: 'para', text: `Smallest detectable effect (80% power, 5% two-sided, from the measured spread): ${detectable.join('; ')}.` });
          }
        }
      }

      // Final metrics per arm
      const metricNames = [...new Set(group.flatMap((r) => Object.keys(r.metrics)))].sort(
        (a, b) => (PREFERRED.indexOf(a) + 1 || 99) - (PREFERRED.indexOf(b) + 1 || 99) || (a < b ? -1 : 1),
      );
      const shown = metricNames.slice(0, 8);
      body.push({ kind: 'heading', level: 4, text: 'Final metrics per arm (mean ± std over seeds)' });
      body.push({
        kind: 'table',
        headers: ['arm', 'n', ...shown, 'wall time / run', 'tensor MiB between steps (peak)'],
        rows: arms.map((arm) => {
          const rs = group.filter((r) => r.armId === arm.id);
          return [
            arm.label,
            String(rs.length),
            ...shown.map((m) => metricCell(rs.map((r) => r.metrics[m] as number))),
            formatDuration(summarize(rs.map((r) => r.wallMs)).mean / 1000),
            fmtNumber(Math.max(...rs.map((r) => r.memory?.peakTensorBytes ?? 0)) / 2 ** 20),
          ];
        }),
      });
      if (metricNames.length > shown.length) {
        body.push({ kind: 'para', text: `Other metrics in the result files: ${metricNames.slice(shown.length).map((m) => `\`${m}\``).join(', ')}.` });
      }

      // Plots
      const plotBlocks: Block[] = [];
      const label = new Map(arms.map((a) => [a.id, a.label]));
      const curveRows: Array<Record<string, unknown>> = group.flatMap((r) => (r.curves ?? []).map((p) => ({ ...p, arm: label.get(r.armId) ?? r.armId, seed: r.seed })));
      const subtitle = `${first.profile}, ${first.backend.name}/${first.backend.device}`;
      if (curveRows.some((p) => Number.isFinite(p['testAcc'] as number))) {
        await addPlot(
          plotBlocks,
          `${ctxId}-curve-acc`,
          'test accuracy per epoch',
          lineChart({ data: curveRows.filter((p) => Number.isFinite(p['testAcc'] as number)), x: 'epoch', y: 'testAcc', color: 'arm', order, aggregate: true, title: `Test accuracy (mean ± std over seeds; ${subtitle})`, yTitle: 'test accuracy' }),
        );
      }
      if (curveRows.some((p) => Number.isFinite(p['trainLoss'] as number))) {
        await addPlot(
          plotBlocks,
          `${ctxId}-curve-loss`,
          'training loss per epoch',
          lineChart({ data: curveRows.filter((p) => Number.isFinite(p['trainLoss'] as number)), x: 'epoch', y: 'trainLoss', color: 'arm', order, aggregate: true, title: `Training loss (mean ± std; ${subtitle})`, yTitle: 'training loss' }),
        );
      }
      const finalMetric = metricNames.includes('testAcc') ? 'testAcc' : undefined;
      if (finalMetric) {
        await addPlot(
          plotBlocks,
          `${ctxId}-final`,
          'final test accuracy per arm (wide tick: mean over seeds, error bar: ± 1 std, dots: single seeds)',
          barWithErrors({ data: byOrder(group.map((r) => ({ arm: label.get(r.armId) ?? r.armId, value: r.metrics[finalMetric], seed: r.seed })), order, (r) => r.arm), x: 'arm', y: 'value', title: `Final test accuracy per arm (${subtitle})`, yTitle: 'test accuracy' }),
        );
      }
      if (exp?.plots) {
        let specs: PlotSpec[] = [];
        try {
          specs = exp.plots(group, (first.settings ?? exp.profiles[first.profile]) as ProfileSettings);
        } catch (e) {
          problems.push(`${expId}: plots() failed: ${(e as Error).message}`);
        }
        for (const p of specs) await addPlot(plotBlocks, `${ctxId}-${p.id}`, p.title, p.spec);
      }
      if (plotBlocks.length) body.push({ kind: 'heading', level: 4, text: `Plots (${ctxPlain})` }, ...plotBlocks);
      body.push({ kind: 'heading', level: 4, text: 'Settings' });
      body.push({ kind: 'code', lang: 'json', text: JSON.stringify(first.settings) });
    }
    log(`report: ${expId}: ${expRuns.length} runs`);
  }

  const speed = latestSpeed(opts.dirs);
  const head: Block[] = [
    { kind: 'heading', level: 1, text: 'trainkit bench report' },
    {
      kind: 'para',
      text: `Generated ${new Date().toISOString()} from ${runs.length} runs in ${opts.dirs.map((d) => `\`${d}\``).join(', ')}. Each number is labelled with the profile, backend, device and data it came from; \`smoke\` and \`quick\` profiles are short runs on small data and are not comparable to the papers' full-scale numbers.`,
    },
    { kind: 'heading', level: 2, text: 'Verdict rules' },
    rulesUsed.size
      ? { kind: 'table', headers: ['rule', 'what it says'], rows: [...rulesUsed].map(([name, text]) => [`\`${name}\``, text]) }
      : { kind: 'para', text: RULES['paired-95'] as string },
    { kind: 'heading', level: 2, text: 'Claims at a glance' },
    summaryRows.length
      ? { kind: 'table', headers: ['experiment', 'claim', 'paper', 'measured', 'verdict', 'profile, backend, data'], rows: summaryRows }
      : { kind: 'para', text: 'No claims were judged (no runs found).' },
  ];
  if (problems.length) head.push({ kind: 'heading', level: 2, text: 'Problems' }, { kind: 'para', text: problems.join(' · ') });
  const tail: Block[] = speed ? [{ kind: 'heading', level: 2, text: `Training speed per backend (\`trainkit-bench speed\`, ${speed.date})` }, { kind: 'markdown', text: speed.table }] : [];
  const blocks = [...head, ...body, ...tail];
  const markdown = join(tmp, 'report.md');
  const html = join(tmp, 'report.html');
  writeFileSync(markdown, toMarkdown(blocks));
  writeFileSync(html, toHtml('trainkit bench report', blocks));
  return { markdown, html, runs: runs.length, plots: plotCount, claims: claimsOut, problems };
}

/** Saves a speed result as `<outDir>/speed/speed-<date>.json` (atomically). */
export function saveSpeed(outDir: string, result: { date?: string }, table: string): string {
  const date = result.date ?? new Date().toISOString();
  const file = join(outDir, 'speed', `speed-${date.replace(/[^0-9A-Za-z]/g, '-')}.json`);
  writeJsonAtomic(file, { kind: 'speed', date, result, table });
  return file;
}

function latestSpeed(dirs: readonly string[]): { date: string; table: string } | undefined {
  let best: { date: string; table: string } | undefined;
  for (const dir of dirs) {
    const sub = join(dir, 'speed');
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub)) {
      if (!name.endsWith('.json')) continue;
      try {
        const v = JSON.parse(readFileSync(join(sub, name), 'utf8')) as { kind?: string; date: string; table: string };
        if (v.kind === 'speed' && (!best || v.date > best.date)) best = { date: v.date, table: v.table };
      } catch {
        // ignore
      }
    }
  }
  return best;
}
