// Renders report.html from a fixed set of results (fixtures/runs: smoke runs of every experiment, and a copy of some
// labelled `quick` so verdict rows render too) in headless Chromium, as a reader would look at it, and fails on
// console errors, on SVG text (legend labels, tick labels, titles) that falls outside its plot or was truncated by
// vega ("…"), on tick labels with trailing zeros (0.200000), and on preformatted blocks that run off the page.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experiments } from '../experiments/index';
import { renderSvg } from './svg';
import { writeReport } from './index';

const FIXTURES = new URL('./fixtures/runs', import.meta.url).pathname;
// Root-safe flags; the browser is the system's (never downloaded), with a fresh profile per run.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Problem {
  svg: number;
  text: string;
  why: string;
}

/** Runs in the page: every problem of every inline SVG and <pre> block. */
function findProblems(): Problem[] {
  const out: Problem[] = [];
  const svgs = Array.from(document.querySelectorAll('svg'));
  svgs.forEach((svg, i) => {
    const box = svg.getBoundingClientRect();
    for (const t of Array.from(svg.querySelectorAll('text'))) {
      const text = (t.textContent ?? '').trim();
      if (!text) continue;
      const r = t.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        out.push({ svg: i, text, why: `outside the plot (${r.left.toFixed(0)}..${r.right.toFixed(0)} × ${r.top.toFixed(0)}..${r.bottom.toFixed(0)} vs ${box.left.toFixed(0)}..${box.right.toFixed(0)} × ${box.top.toFixed(0)}..${box.bottom.toFixed(0)})` });
      }
      if (text.endsWith('…')) out.push({ svg: i, text, why: 'truncated' });
      if (/^-?\d+\.\d*000$/.test(text)) out.push({ svg: i, text, why: 'trailing zeros' });
    }
  });
  for (const pre of Array.from(document.querySelectorAll('pre'))) {
    if (pre.scrollWidth > pre.clientWidth + 1) out.push({ svg: -1, text: (pre.textContent ?? '').slice(0, 60), why: 'pre block runs off the page' });
  }
  return out;
}

let context: BrowserContext;
let profileDir: string;

async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors };
}

describe('report in headless Chromium', () => {
  beforeAll(async () => {
    profileDir = mkdtempSync(join(tmpdir(), 'trainkit-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, viewport: { width: 1400, height: 900 } });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('the checker catches a truncated legend label and text outside the plot (so the test can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainkit-shot-'));
    const svg = await renderSvg({
      data: { values: [{ x: 1, y: 0.2, arm: 'a label long enough to be cut by a forty pixel limit' }] },
      mark: 'point',
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color: { field: 'arm', type: 'nominal', legend: { labelLimit: 40 } } },
    });
    const clipped = svg.replace(/<svg([^>]*) width="(\d+)"/, (_m, a: string) => `<svg${a} width="60"`).replace(/viewBox="[^"]*"/, 'viewBox="0 0 60 100"');
    writeFileSync(join(dir, 'bad.html'), `<!doctype html><html><body>${svg}${clipped}</body></html>`);
    const { page } = await open(`file://${join(dir, 'bad.html')}`);
    const problems = await page.evaluate(findProblems);
    await page.close();
    rmSync(dir, { recursive: true, force: true });
    expect(problems.some((p) => p.svg === 0 && p.why === 'truncated')).toBe(true);
    expect(problems.some((p) => p.svg === 1 && p.why.startsWith('outside the plot'))).toBe(true);
  });

  it('renders the fixed results with no console error, no cut or truncated SVG text and wrapped settings', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-shot-'));
    const r = await writeReport({ dirs: [FIXTURES], outDir: out, experiments });
    expect(r.problems.filter((p) => !/superseded/.test(p))).toEqual([]);
    expect(r.plots).toBeGreaterThan(20);
    const { page, errors } = await open(`file://${r.html}`);
    const problems = await page.evaluate(findProblems);
    const verdicts = await page.evaluate(() => Array.from(document.querySelectorAll('td')).map((td) => td.textContent ?? ''));
    await page.screenshot({ path: join(out, 'report.png'), fullPage: false });
    await page.close();
    rmSync(out, { recursive: true, force: true });
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    // Smoke rows carry no verdict; the quick copies show the verdicts and the short rule names.
    expect(verdicts).toContain('no verdict (smoke)');
    expect(verdicts).toContain('paired-95');
    expect(verdicts.some((v) => /^(reproduced|not reproduced|inconclusive)/.test(v))).toBe(true);
  }, 180_000);
});
