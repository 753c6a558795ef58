import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRun } from '../results';
import { main, type CliIo } from './main';

function capture(): { io: CliIo; lines: string[] } {
  const lines: string[] = [];
  return { io: { out: (l) => lines.push(l), err: { write: (s: string) => (lines.push(s), true) } as unknown as CliIo['err'] }, lines };
}

describe('trainkit-bench CLI', () => {
  it('`pnpm bench -- run baseline --profile smoke` trains, writes a result, skips it on a re-run, and reports it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-cli-'));
    const a = capture();
    // exactly what `pnpm bench -- run baseline --profile smoke` passes, plus a private out dir and the test backend
    const code = await main(['--', 'run', 'baseline', '--profile', 'smoke', '--backend', 'wasm', '--out', out], { io: a.io });
    expect(code, a.lines.join('\n')).toBe(0);
    const files = readdirSync(join(out, 'baseline'));
    expect(files).toHaveLength(1);
    const run = readRun(join(out, 'baseline', files[0]!))!;
    expect(run).toMatchObject({ experimentId: 'baseline', armId: 'adam', seed: 1, profile: 'smoke', backend: { name: 'wasm', device: 'cpu' } });
    expect(run.data?.name).toMatch(/fashion-mnist/);
    expect(run.curves).toHaveLength(1);
    expect(run.metrics['testAcc']).toBeGreaterThan(0.3); // well above chance (0.1) after 8 steps
    expect(run.versions['@trainkit/core']).toBeDefined();
    expect(a.lines.join('\n')).toMatch(/1 run\(s\) done, 0 skipped/);

    const b = capture();
    expect(await main(['run', 'baseline', '--profile', 'smoke', '--backend', 'wasm', '--out', out], { io: b.io })).toBe(0);
    expect(b.lines.join('\n')).toMatch(/0 run\(s\) done, 1 skipped/);

    const c = capture();
    expect(await main(['report', '--out', out], { io: c.io })).toBe(0);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| `baseline` \| smallCnn \+ Adam learns Fashion-MNIST.*\| no verdict \(smoke\) \| smoke, wasm \(cpu\), fashion-mnist/);
    expect(md).toContain('## Verdict rule');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('lists experiments and rejects bad input with exit code 2', async () => {
    const a = capture();
    expect(await main(['list'], { io: a.io })).toBe(0);
    expect(a.lines.join('\n')).toMatch(/^baseline — /m);
    for (const argv of [['run', 'nope'], ['run', 'baseline', '--profile', 'huge'], ['run', 'baseline', '--seeds', '0'], ['run', 'all', '--shard', '3/2'], ['run', 'all', '--frobnicate', '1']]) {
      const b = capture();
      expect(await main(argv, { io: b.io })).toBe(2);
      expect(b.lines.join('\n')).toMatch(/^error: /m);
    }
    expect(existsSync(join(tmpdir(), 'never'))).toBe(false);
  });

  it('rejects absurd counts and an unwritable --out with exit 2 before anything trains; `report` of a missing folder is an error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-cli-bounds-'));
    writeFileSync(join(root, 'file'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['run', 'baseline', '--seeds', '1e9'], /^error: --seeds must be a whole number from 1 to 1000; received "1e9"$/m],
      [['run', 'baseline', '--seeds', '1001'], /--seeds must be a whole number from 1 to 1000/],
      [['run', 'baseline', '--seeds', '2.5'], /--seeds must be a whole number/],
      [['speed', '--steps', '1e12'], /--steps must be a whole number from 1 to 100000/],
      [['run', 'all', '--shard', '1/100000'], /--shard/],
      // a path under a regular file cannot be created even by root (chmod would not stop root)
      [['run', 'baseline', '--profile', 'smoke', '--out', join(root, 'file', 'out')], /^error: --out .*file\/out is not a writable folder \(ENOTDIR\)/m],
      // the CIFAR profiles refuse to start without the binaries, naming --data
      [['run', 'prune', '--profile', 'paper', '--out', join(root, 'o')], /^error: prune --profile paper trains on cifar-10: pass --data DIR, a folder holding cifar-10-batches-bin/m],
      [['run', 'all', '--profile', 'paper', '--data', root, '--out', join(root, 'o')], /^error: afan --profile paper trains on cifar-10: --data .* lacks cifar-10-batches-bin/m],
    ];
    const savedData = process.env['TRAINKIT_DATA'];
    for (const [argv, why] of cases) {
      const c = capture();
      const t0 = Date.now();
      delete process.env['TRAINKIT_DATA']; // a smoke run above set it to the embedded subset
      expect(await main(argv, { io: c.io }), argv.join(' ')).toBe(2);
      expect(c.lines.join('\n')).toMatch(why);
      expect(c.lines.join('\n')).not.toMatch(/backend /); // failed before the backend started
      expect(Date.now() - t0).toBeLessThan(5000);
    }
    if (savedData !== undefined) process.env['TRAINKIT_DATA'] = savedData;
    expect(existsSync(join(root, 'o'))).toBe(false);
    const out = join(root, 'results');
    const r = capture();
    expect(await main(['report', join(root, 'typo-dir'), '--out', out], { io: r.io })).toBe(2);
    expect(r.lines.join('\n')).toMatch(/^error: results folder .*typo-dir does not exist/m);
    expect(existsSync(join(out, 'report.md'))).toBe(false);
  });
});
