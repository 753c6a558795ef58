import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineExperiment, type ExperimentDefinition } from './experiment';
import { createProgress } from './progress';
import { isFinished, makeRunId, readRun, readRuns, resultPath, runConfig, writeJsonAtomic } from './results';
import { parseShard, planJobs, runJobs, shardJobs, type Job } from './runner';

const backend = { name: 'cpu', device: 'cpu' as const, trainingKernels: 'native', threads: 1 };
const quiet = createProgress({ stream: { write: () => true } as unknown as NodeJS.WritableStream, tty: false });

/** A tensor-free experiment; `calls` counts runs per arm/seed; `failOnce` makes one job throw the first time. */
function fake(calls: Map<string, number>, failOnce?: string): ExperimentDefinition {
  return defineExperiment({
    id: 'fake',
    title: 'fake',
    paper: { title: 't', authors: 'a', year: 2020, url: 'https://example.org' },
    claims: [{ id: 'c', text: 'b beats a', paper: '+1' }],
    profiles: { smoke: { seeds: 2, scale: 1 }, quick: { seeds: 3, scale: 2 } },
    arms: () => [
      { id: 'a', label: 'arm A' },
      { id: 'b', label: 'arm B' },
    ],
    async run(ctx) {
      const key = `${ctx.arm.id}/${ctx.seed}`;
      calls.set(key, (calls.get(key) ?? 0) + 1);
      if (key === failOnce && calls.get(key) === 1) throw new Error('killed mid-run');
      ctx.progress.start(2);
      ctx.progress.tick(2, { loss: 1 });
      return { metrics: { testAcc: ctx.arm.id === 'a' ? 0.5 : 0.6 + ctx.seed / 100 }, curves: [{ epoch: 1, testAcc: 0.4 }] };
    },
    judge: () => [],
  }) as ExperimentDefinition;
}

describe('planning and sharding', () => {
  it('expands arms × seeds per profile; --seeds overrides; unsupported profiles are reported', () => {
    const exp = fake(new Map());
    expect(planJobs([exp], { profile: 'smoke' }).jobs.map((j) => `${j.arm.id}${j.seed}`)).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(planJobs([exp], { profile: 'quick', seeds: 1 }).jobs).toHaveLength(2);
    expect(planJobs([exp], { profile: 'paper' })).toMatchObject({ jobs: [], unsupported: ['fake'] });
  });

  it('shards are disjoint and together cover every job', () => {
    const jobs = Array.from({ length: 11 }, (_, i) => i);
    const shards = [1, 2, 3].map((i) => shardJobs(jobs, parseShard(`${i}/3`)));
    expect(shards.flat().sort((a, b) => a - b)).toEqual(jobs);
    expect(shards.map((s) => s.length)).toEqual([4, 4, 3]);
    for (const bad of ['0/3', '4/3', '1-3', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });
});

describe('results store', () => {
  it('writes atomically: complete JSON, no temp file left, overwrite keeps it valid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trainkit-atomic-'));
    const file = join(dir, 'x', 'r.json');
    writeJsonAtomic(file, { a: 1 });
    writeJsonAtomic(file, { a: 2, big: 'y'.repeat(100_000) });
    expect(JSON.parse(readFileSync(file, 'utf8')).a).toBe(2);
    expect(readdirSync(join(dir, 'x'))).toEqual(['r.json']);
  });

  it('run ids change with the settings, arm, seed, profile, backend, kernels and version, not with the seed count', () => {
    const base = { experimentId: 'x', arm: { id: 'a', label: 'A' }, seed: 1, profile: 'quick' as const, backend: { name: 'wasm', trainingKernels: 'trainkit' }, settings: { seeds: 2, lr: 0.1 } };
    const id = makeRunId(runConfig(base));
    expect(id).toMatch(/^a__s1__quick__wasm__[0-9a-f]{8}$/);
    expect(makeRunId(runConfig({ ...base, settings: { lr: 0.1, seeds: 2 } }))).toBe(id); // key order does not matter
    expect(makeRunId(runConfig({ ...base, settings: { lr: 0.1, seeds: 5 } }))).toBe(id); // more seeds keep the runs done
    const others = [
      { settings: { seeds: 2, lr: 0.2 } },
      { seed: 2 },
      { backend: { name: 'cpu', trainingKernels: 'trainkit' } },
      { backend: { name: 'wasm', trainingKernels: 'tfjs' } },
      { profile: 'smoke' as const },
      { arm: { id: 'a', label: 'A2' } },
      { version: 2 },
      { experimentId: 'y' },
    ];
    for (const other of others) expect(makeRunId(runConfig({ ...base, ...other }))).not.toBe(id);
  });
});

describe('sweeps', () => {
  it('resume after a kill: finished runs are skipped, the killed run and its partial file are redone', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-resume-'));
    const calls = new Map<string, number>();
    const exp = fake(calls, 'b/1');
    const { jobs } = planJobs([exp], { profile: 'smoke' });
    // A previous process was killed while writing b/1's result: only its temp file exists.
    const bJob = jobs.find((j) => j.arm.id === 'b' && j.seed === 1) as Job;
    const bFile = resultPath(out, 'fake', makeRunId(runConfig({ experimentId: 'fake', arm: bJob.arm, seed: 1, profile: 'smoke', backend, settings: bJob.settings })));
    mkdirSync(dirname(bFile), { recursive: true });
    writeFileSync(`${bFile.replace(/\.json$/, '')}.json.tmp-999-dead`, '{"schema":1,"runId":"trunc');
    expect(isFinished(out, 'fake', bFile.split('/').pop()!.replace(/\.json$/, ''))).toBe(false);

    const first = await runJobs(jobs, { outDir: out, backend, progress: quiet });
    expect(first).toMatchObject({ done: 3, skipped: 0 });
    expect(first.failed).toHaveLength(1);
    expect(existsSync(bFile)).toBe(false); // a failed run writes nothing
    expect(readdirSync(join(out, 'fake')).filter((f) => f.includes('.tmp-'))).toEqual([]); // stale temp removed

    const second = await runJobs(jobs, { outDir: out, backend, progress: quiet });
    expect(second).toMatchObject({ done: 1, skipped: 3, failed: [] });
    expect([...calls.entries()].sort()).toEqual([
      ['a/1', 1],
      ['a/2', 1],
      ['b/1', 2],
      ['b/2', 1],
    ]);
    const rec = readRun(bFile)!;
    expect(rec).toMatchObject({ experimentId: 'fake', armId: 'b', seed: 1, profile: 'smoke', backend, metrics: { testAcc: 0.61 } });
    expect(rec.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    expect(rec.memory.peakRssBytes).toBeGreaterThan(0);
    expect(Date.parse(rec.finishedAt)).toBeGreaterThanOrEqual(Date.parse(rec.startedAt));

    const third = await runJobs(jobs, { outDir: out, backend, progress: quiet });
    expect(third).toMatchObject({ done: 0, skipped: 4 });
    const forced = await runJobs(jobs.slice(0, 1), { outDir: out, backend, progress: quiet, force: true });
    expect(forced).toMatchObject({ done: 1, skipped: 0 });
    expect(readRuns([out]).runs).toHaveLength(4);
  });

  it('a corrupt result file (e.g. written by hand, truncated) is not counted as finished', async () => {
    const out = mkdtempSync(join(tmpdir(), 'trainkit-corrupt-'));
    const calls = new Map<string, number>();
    const { jobs } = planJobs([fake(calls)], { profile: 'smoke', seeds: 1 });
    await runJobs(jobs, { outDir: out, backend, progress: quiet });
    const files = readdirSync(join(out, 'fake'));
    writeFileSync(join(out, 'fake', files[0]!), '{"schema":1,"runId":');
    const again = await runJobs(jobs, { outDir: out, backend, progress: quiet });
    expect(again).toMatchObject({ done: 1, skipped: 1 });
  });

  it('sharded sweeps in separate folders merge into the full set', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trainkit-shards-'));
    const { jobs } = planJobs([fake(new Map())], { profile: 'quick' });
    for (const i of [1, 2]) await runJobs(shardJobs(jobs, { index: i, count: 2 }), { outDir: join(root, `s${i}`), backend, progress: quiet });
    const merged = readRuns([join(root, 's1'), join(root, 's2'), join(root, 's1')]);
    expect(merged.runs).toHaveLength(6);
    expect(merged.runs.map((r) => `${r.armId}${r.seed}`)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
    expect(merged.unreadable).toEqual([]);
    // a newer run of a changed configuration supersedes the older one of the same arm and seed
    const changed = fake(new Map());
    changed.version = 2;
    await runJobs(planJobs([changed], { profile: 'quick', seeds: 1 }).jobs, { outDir: join(root, 's3'), backend, progress: quiet });
    const all = readRuns([join(root, 's1'), join(root, 's2'), join(root, 's3')]);
    expect(all.runs).toHaveLength(6);
    expect(all.superseded).toBe(2);
  });
});

describe('progress', () => {
  it('prints periodic plain lines without a TTY and a redrawn bar with ETA on a TTY', () => {
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
    const plain = createProgress({ stream, tty: false, every: 0, prefix: () => '[1/2]' });
    plain.start(4, 'train');
    plain.tick(1, { loss: 0.5 });
    plain.done();
    expect(lines.some((l) => /^\[1\/2\] train +25% 1\/4 .*ETA .*\| loss 0\.500\n$/.test(l))).toBe(true);
    lines.length = 0;
    const bar = createProgress({ stream, tty: true });
    bar.start(10);
    bar.tick(5, { acc: 0.9 });
    bar.log('hello');
    expect(lines.some((l) => l.startsWith('\r\x1b[2K[') && l.includes('ETA'))).toBe(true);
    expect(lines).toContain('hello\n');
  });
});
