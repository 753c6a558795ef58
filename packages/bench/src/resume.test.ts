import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TrainkitError } from '@trainkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeIdx } from './data/idx';
import { loadFashionMnist, loadFashionMnistCached } from './data/fashion';
import { defineExperiment, type ExperimentDefinition, type RunOutput } from './experiment';
import { tryLock } from './lock';
import { createProgress } from './progress';
import { loadRun, readRuns, removeStaleTemps, writeJsonAtomic } from './results';
import { planJobs, runJobs, type RunJobsOptions } from './runner';

const backend = { name: 'cpu', device: 'cpu' as const, trainingKernels: 'native', threads: 1 };

/** A progress sink that keeps the log lines. */
function logged(): { progress: RunJobsOptions['progress'] & object; lines: string[] } {
  const lines: string[] = [];
  const progress = createProgress({ stream: { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream, tty: false, every: 1e6 });
  return { progress, lines };
}

/** A Fashion-MNIST-format set of `n` train and test examples (`h`×`w` images; pixel values offset by `shift`). */
function fakeSet(dir: string, n: number, opts: { h?: number; w?: number; shift?: number } = {}): string {
  const h = opts.h ?? 28;
  const w = opts.w ?? 28;
  mkdirSync(dir, { recursive: true });
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const images = Uint8Array.from({ length: n * h * w }, (_, i) => (Math.floor(i / (h * w)) + (opts.shift ?? 0)) % 256);
  for (const part of ['train', 't10k']) {
    writeFileSync(join(dir, `${part}-images-idx3-ubyte.gz`), gzipSync(encodeIdx([n, h, w], images)));
    writeFileSync(join(dir, `${part}-labels-idx1-ubyte`), encodeIdx([n], labels));
  }
  return dir;
}

/** A tensor-free experiment that loads Fashion-MNIST like the real ones: with the run's --data, or via TRAINKIT_DATA. */
function dataExperiment(calls: string[], opts: { viaEnv?: boolean; lr?: number; output?: (o: RunOutput) => RunOutput; sleepMs?: number } = {}): ExperimentDefinition {
  return defineExperiment({
    id: 'dx',
    title: 'data experiment',
    paper: { title: 't', authors: 'a', year: 2020, url: 'https://example.org' },
    claims: [],
    profiles: { smoke: { seeds: 1, lr: opts.lr ?? 0.1 } },
    arms: () => [{ id: 'a', label: 'A' }],
    async run(ctx) {
      calls.push(`${ctx.arm.id}/${ctx.seed}`);
      if (opts.sleepMs) await new Promise((r) => setTimeout(r, opts.sleepMs));
      const d = opts.viaEnv ? await loadFashionMnistCached({ trainSize: 10, seed: 1 }) : await loadFashionMnist({ dataDir: ctx.dataDir, seed: 1 });
      if (opts.sleepMs) await new Promise((r) => setTimeout(r, opts.sleepMs));
      const out: RunOutput = { metrics: { testAcc: d.train.x[784] as number }, curves: [{ epoch: 1, testAcc: 0.5 }], data: d.info };
      return opts.output ? opts.output(out) : out;
    },
    judge: () => [],
  }) as ExperimentDefinition;
}

const envBefore = process.env['TRAINKIT_DATA'];
afterEach(() => {
  if (envBefore === undefined) delete process.env['TRAINKIT_DATA'];
  else process.env['TRAINKIT_DATA'] = envBefore;
});

describe('run identity includes the data', () => {
  it('re-runs, saying why, when --data points elsewhere, a file changes or the set is truncated; same bytes elsewhere are the same data', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-ident-'));
    const out = join(root, 'out');
    const a = fakeSet(join(root, 'a'), 20);
    const b = fakeSet(join(root, 'b'), 20, { shift: 7 });
    const copyOfA = fakeSet(join(root, 'a2'), 20);
    const calls: string[] = [];
    const { jobs } = planJobs([dataExperiment(calls)], { profile: 'smoke' });
    const sweep = async (dataDir: string): Promise<{ s: Awaited<ReturnType<typeof runJobs>>; text: string }> => {
      const l = logged();
      const s = await runJobs(jobs, { outDir: out, backend, dataDir, progress: l.progress });
      return { s, text: l.lines.join('') };
    };
    expect((await sweep(a)).s).toMatchObject({ done: 1, skipped: 0 });
    expect((await sweep(a)).s).toMatchObject({ done: 0, skipped: 1 });
    const other = await sweep(b);
    expect(other.s).toMatchObject({ done: 1, skipped: 0 });
    expect(other.text).toMatch(/re-running: the stored run is stale: its data changed: it used fashion-mnist full in .*\/a .*; now fashion-mnist full in .*\/b /);
    expect((await sweep(copyOfA)).s).toMatchObject({ done: 1 }); // back to a's content (b's run replaced it)
    expect((await sweep(a)).s).toMatchObject({ done: 0, skipped: 1 }); // the same bytes in another folder are the same data
    fakeSet(a, 12); // truncated in place
    const truncated = await sweep(a);
    expect(truncated.s).toMatchObject({ done: 1 });
    expect(truncated.text).toMatch(/its data changed/);
    const file = readdirSync(join(out, 'dx')).filter((f) => f.endsWith('.json'));
    expect(file).toHaveLength(1);
    const run = loadRun(join(out, 'dx', file[0]!)).run!;
    expect(run.identity?.data).toEqual([
      expect.objectContaining({ dataset: 'fashion-mnist', source: 'full', dir: a, subset: { trainSize: null, testSize: null, seed: 1 } }),
    ]);
    expect(run.identity?.data[0]?.files.map((f) => f.name)).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte']);
    expect(run.identity?.data[0]?.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(calls).toHaveLength(4); // a, b, a again (b had replaced it), truncated a
  });

  it('an experiment that finds its data through TRAINKIT_DATA (memoised loads too) is re-run when it points elsewhere', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-ident-env-'));
    const a = fakeSet(join(root, 'a'), 20);
    const b = fakeSet(join(root, 'b'), 20, { shift: 3 });
    const calls: string[] = [];
    const { jobs } = planJobs([dataExperiment(calls, { viaEnv: true })], { profile: 'smoke', seeds: 2 });
    const run = async (dir: string): Promise<Awaited<ReturnType<typeof runJobs>>> => {
      process.env['TRAINKIT_DATA'] = dir;
      return runJobs(jobs, { outDir: join(root, 'out'), backend, progress: logged().progress });
    };
    expect(await run(a)).toMatchObject({ done: 2 }); // seed 2 gets the memoised load: still recorded
    expect(await run(a)).toMatchObject({ done: 0, skipped: 2 });
    expect(await run(b)).toMatchObject({ done: 2, skipped: 0 });
  });

  it('a changed setting is a new run, with a line naming what changed', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-ident-set-'));
    const a = fakeSet(join(root, 'a'), 20);
    await runJobs(planJobs([dataExperiment([])], { profile: 'smoke' }).jobs, { outDir: join(root, 'out'), backend, dataDir: a, progress: logged().progress });
    const l = logged();
    const s = await runJobs(planJobs([dataExperiment([], { lr: 0.2 })], { profile: 'smoke' }).jobs, { outDir: join(root, 'out'), backend, dataDir: a, progress: l.progress });
    expect(s).toMatchObject({ done: 1, skipped: 0 });
    expect(l.lines.join('')).toMatch(/settings changed since a__s1__smoke__cpu__[0-9a-f]{8}: settings\.lr 0\.1 → 0\.2; running anew/);
  });
});

describe('refused runs', () => {
  it('an IDX set with zero examples is BAD_FILE, and no finished run is stored', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-empty-'));
    const empty = fakeSet(join(root, 'empty'), 0);
    await expect(loadFashionMnist({ dataDir: empty })).rejects.toMatchObject({ code: 'BAD_FILE', message: expect.stringMatching(/train-images-idx3-ubyte\.gz: the header says 0 examples/) });
    const s = await runJobs(planJobs([dataExperiment([])], { profile: 'smoke' }).jobs, { outDir: join(root, 'out'), backend, dataDir: empty, progress: logged().progress });
    expect(s.failed).toHaveLength(1);
    expect(s.failed[0]?.error).toMatch(/^BAD_FILE: .*0 examples/);
    expect(readdirSync(join(root, 'out', 'dx')).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('consistent IDX headers with images of the wrong size are BAD_FILE before anything trains', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-size-'));
    const wrong = fakeSet(join(root, 'w'), 10, { h: 32, w: 32 });
    const err = await loadFashionMnist({ dataDir: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainkitError);
    expect(err).toMatchObject({ code: 'BAD_FILE', argument: join(wrong, 'train-images-idx3-ubyte.gz'), message: expect.stringMatching(/images are 32×32; Fashion-MNIST images are 28×28/) });
  });

  it('non-finite or missing metrics and empty data are refused with a clear error; nothing is stored', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-nan-'));
    const a = fakeSet(join(root, 'a'), 20);
    const cases: Array<[(o: RunOutput) => RunOutput, RegExp]> = [
      [(o) => ({ ...o, metrics: { testAcc: Number.NaN } }), /metrics\.testAcc must be a finite number.*received NaN/],
      [(o) => ({ ...o, metrics: { testAcc: 0.5, loss: Infinity } }), /metrics\.loss.*Infinity/],
      [(o) => ({ ...o, metrics: {} }), /metrics.*non-empty object/],
      [(o) => ({ ...o, data: { name: 'x', trainSize: 0, testSize: 5 } }), /data.*0 train \/ 5 test/],
      [(o) => ({ ...o, curves: [{ epoch: 'one' } as never] }), /curves\[0\]\.epoch/],
    ];
    for (const [output, why] of cases) {
      const s = await runJobs(planJobs([dataExperiment([], { output })], { profile: 'smoke' }).jobs, { outDir: join(root, 'out'), backend, dataDir: a, progress: logged().progress });
      expect(s.done).toBe(0);
      expect(s.failed[0]?.error).toMatch(why);
    }
    expect(readdirSync(join(root, 'out', 'dx')).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});

describe('one schema for stored runs', () => {
  it('a bad file (no backend, no host, malformed curves, NaN metric, older schema) is reported by name and re-run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-schema-'));
    const out = join(root, 'out');
    const a = fakeSet(join(root, 'a'), 20);
    const { jobs } = planJobs([dataExperiment([])], { profile: 'smoke' });
    await runJobs(jobs, { outDir: out, backend, dataDir: a, progress: logged().progress });
    const name = readdirSync(join(out, 'dx')).find((f) => f.endsWith('.json'))!;
    const file = join(out, 'dx', name);
    const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { backend: _b, ...noBackend } = good;
    const { host: _h, ...noHost } = good;
    const { identity: _i, ...schema1 } = { ...good, schema: 1 } as Record<string, unknown>;
    const bad: Array<[unknown, RegExp]> = [
      [noBackend, /run\.backend is missing/],
      [noHost, /run\.host is missing/],
      [{ ...good, curves: 'epoch 1: 0.5' }, /run\.curves must be an array/],
      [{ ...good, curves: [{ epoch: 1, testAcc: 'high' }] }, /run\.curves\[0\]\.testAcc must be a number/],
      [{ ...good, metrics: { testAcc: null } }, /run\.metrics\.testAcc must be a finite number/],
      [{ ...good, data: { name: 'x', trainSize: 0, testSize: 0 } }, /run\.data\.trainSize/],
    ];
    for (const [value, why] of bad) {
      writeFileSync(file, JSON.stringify(value));
      expect(loadRun(file).error).toMatch(why);
      expect(readRuns([out]).bad).toEqual([{ file, reason: expect.stringMatching(why) }]);
      const l = logged();
      expect(await runJobs(jobs, { outDir: out, backend, dataDir: a, progress: l.progress })).toMatchObject({ done: 1, skipped: 0 });
      expect(l.lines.join('')).toContain(`re-running: ${file} is a bad result file: not a valid run record: `);
      expect(loadRun(file).run).toBeDefined();
    }
    // a run stored by an older bench is readable by the report but re-run: its data cannot be verified
    writeFileSync(file, JSON.stringify(schema1));
    expect(loadRun(file).run).toBeDefined();
    const l = logged();
    expect(await runJobs(jobs, { outDir: out, backend, dataDir: a, progress: l.progress })).toMatchObject({ done: 1 });
    expect(l.lines.join('')).toMatch(/stale: it was stored by an older bench that did not record its data/);
  });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('several sweeps on one --out', () => {
  it('share the runs out: each run once, none lost, no lock or temp file left', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-share-'));
    const out = join(root, 'out');
    const a = fakeSet(join(root, 'a'), 20);
    const calls: string[] = [];
    const { jobs } = planJobs([dataExperiment(calls, { sleepMs: 30 })], { profile: 'smoke', seeds: 6 });
    const [s1, s2] = await Promise.all([0, 1].map(() => runJobs(jobs, { outDir: out, backend, dataDir: a, progress: logged().progress, pollMs: 20 })));
    expect(calls.sort()).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'a/6']);
    expect(s1!.done + s2!.done).toBe(6);
    expect(s1!.byOthers + s2!.byOthers).toBe(6);
    expect(s1!.failed.concat(s2!.failed)).toEqual([]);
    const files = readdirSync(join(out, 'dx'));
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(6);
    expect(files.filter((f) => !f.endsWith('.json'))).toEqual([]);
    // each run recorded its own data use, though the two sweeps interleave in one process
    for (const f of files) expect(loadRun(join(out, 'dx', f)).run?.identity?.data.map((d) => d.dir)).toEqual([a]);
  });

  it('waits for a run another live process holds, and runs it when its holder crashed (dead pid, or no heartbeat)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-stale-'));
    const out = join(root, 'out');
    const a = fakeSet(join(root, 'a'), 20);
    const { jobs } = planJobs([dataExperiment([])], { profile: 'smoke', seeds: 2 });
    mkdirSync(join(out, 'dx'), { recursive: true });
    const probe = await runJobs(jobs, { outDir: join(root, 'probe'), backend, dataDir: a, progress: logged().progress });
    expect(probe.done).toBe(2);
    const names = readdirSync(join(root, 'probe', 'dx')).filter((f) => f.endsWith('.json')).sort();
    const lock1 = join(out, 'dx', names[0]!.replace(/\.json$/, '.lock'));
    const lock2 = join(out, 'dx', names[1]!.replace(/\.json$/, '.lock'));
    // run 1: left by a killed process on this host; run 2: held by a live process elsewhere that stopped refreshing it
    writeFileSync(lock1, JSON.stringify({ pid: deadPid(), host: hostname(), token: 'dead', startedAt: new Date().toISOString() }));
    writeFileSync(lock2, JSON.stringify({ pid: process.pid, host: 'elsewhere', token: 'old', startedAt: new Date().toISOString() }));
    const past = new Date(Date.now() - 60_000);
    utimesSync(lock2, past, past);
    const l = logged();
    const s = await runJobs(jobs, { outDir: out, backend, dataDir: a, progress: l.progress, staleLockMs: 30_000 });
    expect(s).toMatchObject({ done: 2, failed: [] });
    expect(l.lines.join('')).toMatch(/took over the lock of a crashed run \(its process \d+ on this host is gone\)/);
    expect(l.lines.join('')).toMatch(/took over the lock of a crashed run \(not refreshed for \d+ s\)/);
    expect(readdirSync(join(out, 'dx')).filter((f) => f.endsWith('.lock'))).toEqual([]);

    // a live, fresh lock is respected: the sweep waits until its holder releases it, then takes its result
    const fresh = join(root, 'fresh');
    mkdirSync(join(fresh, 'dx'), { recursive: true });
    const held = tryLock(join(fresh, 'dx', names[0]!.replace(/\.json$/, '.lock')));
    expect(held.lock).toBeDefined();
    const l2 = logged();
    const waiting = runJobs(jobs, { outDir: fresh, backend, dataDir: a, progress: l2.progress, pollMs: 20 });
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(fresh, 'dx', names[0]!), readFileSync(join(root, 'probe', 'dx', names[0]!)));
    held.lock!.release();
    expect(await waiting).toMatchObject({ done: 1, skipped: 1, byOthers: 1 });
    expect(l2.lines.join('')).toMatch(/being run by process \d+ on .* since .*; will look again/);
  });

  it('a held lock is not taken by a second taker; temp files of live writers are kept, of dead ones removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainkit-lock-'));
    const file = join(dir, 'r.lock');
    const first = tryLock(file);
    expect(first.lock).toBeDefined();
    const second = tryLock(file);
    expect(second.lock).toBeUndefined();
    expect(second).toMatchObject({ heldBy: { pid: process.pid, host: hostname() } });
    expect(first.lock!.heartbeat()).toBe(true);
    first.lock!.release();
    expect(existsSync(file)).toBe(false);
    const third = tryLock(file);
    expect(third.lock).toBeDefined();
    third.lock!.release();

    const result = join(dir, 'r.json');
    writeFileSync(`${result}.tmp-${process.pid}-live`, '{');
    writeFileSync(`${result}.tmp-${deadPid()}-dead`, '{');
    expect(removeStaleTemps(result)).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([`r.json.tmp-${process.pid}-live`]);
    writeJsonAtomic(result, { ok: 1 }); // its own temp name: never collides with the live writer's
    expect(JSON.parse(readFileSync(result, 'utf8'))).toEqual({ ok: 1 });
  });
});

describe('--out is checked before anything trains', () => {
  it('a path under a regular file (unwritable even as root) fails at once naming --out', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-ro-'));
    writeFileSync(join(root, 'file'), 'x');
    const calls: string[] = [];
    const err = await runJobs(planJobs([dataExperiment(calls)], { profile: 'smoke' }).jobs, { outDir: join(root, 'file', 'out'), backend, progress: logged().progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', argument: '--out', message: expect.stringMatching(/--out .*file\/out is not a writable folder \(ENOTDIR\)/) });
    expect(calls).toEqual([]);
  });

  it('a result that cannot be saved (disk full, folder gone) stops the sweep instead of training the rest for nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-full-'));
    const out = join(root, 'out');
    const a = fakeSet(join(root, 'a'), 20);
    const calls: string[] = [];
    const sabotage = (o: RunOutput): RunOutput => {
      rmSync(join(out, 'dx'), { recursive: true, force: true });
      writeFileSync(join(out, 'dx'), 'not a folder'); // the write below fails as on a full or vanished disk
      return o;
    };
    const err = await runJobs(planJobs([dataExperiment(calls, { output: sabotage })], { profile: 'smoke', seeds: 3 }).jobs, { outDir: out, backend, dataDir: a, progress: logged().progress }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', argument: '--out', message: expect.stringMatching(/--out .*: cannot save .*a__s1__smoke__cpu__[0-9a-f]{8}\.json \((ENOTDIR|EEXIST)\); sweep stopped/) });
    expect(calls).toEqual(['a/1']);
  });

  it('seed counts are bounded', () => {
    expect(() => planJobs([dataExperiment([])], { profile: 'smoke', seeds: 1e9 })).toThrow(/seeds.*1000/);
    expect(() => planJobs([dataExperiment([])], { profile: 'smoke', seeds: 0 })).toThrow(TrainkitError);
  });
});
