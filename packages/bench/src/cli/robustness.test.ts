// The CLI as users and crashing machines treat it: real processes on the built CLI (dist/), smoke profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { embeddedFashionDir } from '../data/fashion';
import { encodeIdx, readIdx } from '../data/idx';
import { pidAlive } from '../lock';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..', '..');
const BIN = join(benchDir, 'bin', 'trainkit-bench.mjs');
const TINY = join(here, 'fixtures', 'tiny-bench.mjs');
// generous: each step starts Node processes, slow on a loaded machine (about 40 s for the file on 2 idle cores)
const TIMEOUT = 600_000;

interface Proc {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the output matches. */
  waitFor: (re: RegExp, ms?: number) => Promise<void>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(cmd, args, { cwd: benchDir, env: { ...process.env, TRAINKIT_DATA: '', npm_lifecycle_event: '', TRAINKIT_EXIT_WITH_PARENT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer): void => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const waitFor = (re: RegExp, ms = 300_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const t0 = Date.now();
      const check = (): void => {
        if (re.test(text)) resolve();
        else if (Date.now() - t0 > ms || child.exitCode !== null) reject(new Error(`no ${re} in:\n${text}`));
        else {
          waiters.push(check);
          setTimeout(check, 200);
        }
      };
      check();
    });
  return { child, output: () => text, exit, waitFor };
}

/** The tiny-experiment CLI: `run tiny --profile smoke --backend cpu --out <out> …`. */
function tiny(out: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  return start(process.execPath, [TINY, 'run', 'tiny', '--profile', 'smoke', '--backend', 'cpu', '--out', out, ...extra], env);
}

async function finish(p: Proc): Promise<string> {
  const { code } = await p.exit;
  expect(code, p.output()).toBe(0);
  return p.output();
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
const results = (out: string): string[] => files(join(out, 'tiny')).filter((f) => f.endsWith('.json'));

/** The first 500 train and `testN` test examples of the embedded subset, as a Fashion-MNIST folder. */
function dataSet(dir: string, testN = 200): string {
  mkdirSync(dir, { recursive: true });
  const src = embeddedFashionDir();
  for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    const idx = readIdx(join(src, f));
    const n = f.startsWith('t10k') ? testN : 500;
    const per = idx.data.length / (idx.dims[0] as number);
    writeFileSync(join(dir, f), gzipSync(encodeIdx([n, ...idx.dims.slice(1)], idx.data.subarray(0, n * per))));
  }
  return dir;
}

describe('trainkit-bench CLI robustness (real processes, smoke profile)', () => {
  it('kill -9 during a sweep, then resume: finished runs are kept, the killed one is redone, nothing is left locked', { timeout: TIMEOUT }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-rb-kill-'));
    const first = tiny(out, ['--seeds', '4'], { TINY_STEP_MS: '250' });
    await first.waitFor(/s1 done in/);
    first.child.kill('SIGKILL');
    await first.exit;
    const kept = results(out).length;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect(kept).toBeLessThan(4);
    const text = await finish(tiny(out, ['--seeds', '4']));
    expect(text).toContain(`${4 - kept} run(s) done, ${kept} skipped`);
    expect(results(out)).toHaveLength(4);
    expect(files(join(out, 'tiny')).filter((f) => !f.endsWith('.json'))).toEqual([]); // the dead run's lock and temps are gone
  });

  it('changed data is re-run, with a line saying why; a corrupt result file is re-run, named', { timeout: TIMEOUT }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-rb-data-'));
    const out = join(root, 'out');
    const data = dataSet(join(root, 'data'));
    expect(await finish(tiny(out, ['--data', data]))).toContain('1 run(s) done, 0 skipped');
    expect(await finish(tiny(out, ['--data', data]))).toContain('0 run(s) done, 1 skipped');
    dataSet(data, 100); // the test set truncated in place
    const changed = await finish(tiny(out, ['--data', data]));
    expect(changed).toMatch(/re-running: the stored run is stale: its data changed: it used fashion-mnist full in .*; now fashion-mnist full in /);
    expect(changed).toContain('1 run(s) done, 0 skipped');
    // without --data the smoke profile uses the embedded subset: other data again
    expect(await finish(tiny(out))).toMatch(/its data changed: .*; now fashion-mnist embedded in [\s\S]*1 run\(s\) done/);

    const [name] = results(out);
    const file = join(out, 'tiny', name!);
    const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { backend: _b, ...noBackend } = good;
    writeFileSync(file, JSON.stringify(noBackend));
    const redo = await finish(tiny(out));
    expect(redo).toContain(`re-running: ${file} is a bad result file: not a valid run record: run.backend is missing`);
    expect(redo).toContain('1 run(s) done, 0 skipped');
  });

  it('two processes on one --out share the runs: each run once, none lost', { timeout: TIMEOUT }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-rb-two-'));
    const [a, b] = [tiny(out, ['--seeds', '6']), tiny(out, ['--seeds', '6'])];
    const texts = await Promise.all([finish(a!), finish(b!)]);
    const done = texts.map((t) => Number(/(\d+) run\(s\) done/.exec(t)?.[1]));
    expect(done[0]! + done[1]!).toBe(6);
    const doneLines = texts.join('').match(/tiny a s\d done in/g) ?? [];
    expect(doneLines.sort()).toEqual(['tiny a s1 done in', 'tiny a s2 done in', 'tiny a s3 done in', 'tiny a s4 done in', 'tiny a s5 done in', 'tiny a s6 done in']);
    expect(results(out)).toHaveLength(6);
    expect(files(join(out, 'tiny')).filter((f) => !f.endsWith('.json'))).toEqual([]);
    expect(texts.join('')).not.toMatch(/ENOENT|FAILED/);
  });

  it('an unwritable --out and absurd counts exit 2 at once, before training', { timeout: TIMEOUT }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-rb-ro-'));
    writeFileSync(join(root, 'file'), 'x');
    // as root chmod does not stop writes: a path under a regular file is unwritable for everyone
    const ro = start(process.execPath, [BIN, 'run', 'baseline', '--profile', 'smoke', '--out', join(root, 'file', 'results')]);
    expect((await ro.exit).code).toBe(2);
    expect(ro.output()).toMatch(/^error: --out .*file\/results is not a writable folder \(ENOTDIR\)/m);
    expect(ro.output()).not.toMatch(/done in|ETA/);
    const seeds = start(process.execPath, [BIN, 'run', 'baseline', '--seeds', '1e9', '--out', join(root, 'r')]);
    expect((await seeds.exit).code).toBe(2);
    expect(seeds.output()).toMatch(/--seeds must be a whole number from 1 to 1000; received "1e9"/);
  });

  it('SIGTERM/SIGINT stop the launcher at once, its lock is taken over; kill -9 of the parent (as `pnpm bench` runs it) leaves no orphan', { timeout: TIMEOUT }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-rb-sig-'));
    const p = start(process.execPath, [BIN, 'run', 'baseline', '--profile', 'smoke', '--seeds', '20', '--backend', 'cpu', '--out', out]);
    await p.waitFor(/baseline adam s1 data:/);
    p.child.kill('SIGTERM');
    expect(await p.exit).toMatchObject({ signal: 'SIGTERM' }); // at once, even mid-step
    // its lock names a dead pid: the next sweep takes the run over
    const lock = files(join(out, 'baseline')).filter((f) => f.endsWith('.lock'));
    expect(lock).toHaveLength(1);
    const resumed = start(process.execPath, [BIN, 'run', 'baseline', '--profile', 'smoke', '--seeds', '20', '--backend', 'cpu', '--out', out]);
    await resumed.waitFor(/\[1\/20\] baseline adam s1 took over the lock of a crashed run \(its process \d+ on this host is gone\)/);
    resumed.child.kill('SIGINT');
    expect(await resumed.exit).toMatchObject({ signal: 'SIGINT' });

    // pnpm → sh -c "… && node bin/trainkit-bench.mjs …" → the bench; kill -9 the pnpm stand-in
    const script = `require('child_process').spawn('sh', ['-c', 'true && exec_not_used=1 && "${process.execPath}" "${BIN}" run baseline --profile smoke --seeds 20 --backend cpu --out "${out}"'], { stdio: 'inherit' }); setInterval(() => {}, 1000);`;
    const parent = start(process.execPath, ['-e', script], { npm_lifecycle_event: 'bench', TRAINKIT_EXIT_WITH_PARENT: '' });
    await parent.waitFor(/baseline adam s1 data:/);
    const bench = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number)
      .find((pid) => {
        if (pid === parent.child.pid) return false;
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(out) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sh';
        } catch {
          return false;
        }
      });
    expect(bench).toBeDefined();
    parent.child.kill('SIGKILL');
    const t0 = Date.now();
    while (pidAlive(bench!) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(bench!)).toBe(false);
    expect(parent.output()).toMatch(/trainkit-bench: the process that started it \(pid \d+\) has exited; stopping/);
  });
});
