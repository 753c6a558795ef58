import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TrainkitError, checkNumber, invalidArgument } from '@trainkit/core';
import { dataKey, describeData, recordDataUse, type DataIdentity } from './data/identity';
import { resolveDataIdentity } from './data/resolve';
import type { ArmSpec, ExperimentDefinition, ProfileName, ProfileSettings, RunContext, RunOutput } from './experiment';
import { DEFAULT_STALE_LOCK_MS, tryLock, type RunLock } from './lock';
import { createProgress, formatDuration, type Progress } from './progress';
import { webgpuAdapter } from './adapter';
import { configHash, loadRun, makeRunId, removeStaleTemps, resultPath, runConfig, runSlot, validateRun, writeJsonAtomic, type RunIdentity, type StoredRun } from './results';

export const PROFILES: readonly ProfileName[] = ['smoke', 'quick', 'standard', 'gpu', 'paper'];

/** The most seeds a sweep may ask for (`--seeds`). */
export const MAX_SEEDS = 1000;

/** One (experiment, arm, seed) run of a sweep. */
export interface Job {
  experiment: ExperimentDefinition;
  arm: ArmSpec;
  seed: number;
  profile: ProfileName;
  settings: ProfileSettings;
}

/**
 * Expands experiments into jobs: every arm × seeds 1..N of the profile (N = `seeds` or the profile's own), with the
 * profile's settings and any `overrides` (per experiment id, from `resolveOverrides` in overrides.ts) merged over them.
 *
 * @returns the jobs in a stable order (experiment, seed, arm) and the experiments that lack the profile
 */
export function planJobs(
  experiments: readonly ExperimentDefinition[],
  opts: { profile: ProfileName; seeds?: number; overrides?: ReadonlyMap<string, Record<string, unknown>> },
): { jobs: Job[]; unsupported: string[] } {
  const jobs: Job[] = [];
  const unsupported: string[] = [];
  for (const experiment of experiments) {
    const profileSettings = experiment.profiles[opts.profile];
    if (!profileSettings) {
      unsupported.push(experiment.id);
      continue;
    }
    const settings: ProfileSettings = { ...profileSettings, ...opts.overrides?.get(experiment.id) };
    const n = checkNumber(opts.seeds !== undefined ? 'seeds' : `${experiment.id}.profiles.${opts.profile}.seeds`, opts.seeds ?? settings.seeds, { integer: true, min: 1, max: MAX_SEEDS });
    const arms = experiment.arms(settings, opts.profile);
    for (let seed = 1; seed <= n; seed++) {
      for (const arm of arms) jobs.push({ experiment, arm, seed, profile: opts.profile, settings: { ...settings, seeds: n } });
    }
  }
  return { jobs, unsupported };
}

/**
 * Parses `i/n` (1-based shard i of n).
 *
 * @throws TrainkitError on anything but integers 1 <= i <= n
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index >= 1) || index > count || count > 10_000) throw invalidArgument('--shard', text, 'i/n with integers 1 <= i <= n <= 10000, e.g. 2/4');
  return { index, count };
}

/** The jobs of shard `index` of `count` (round-robin over the planned order, so shards get similar mixes). */
export function shardJobs<T>(jobs: readonly T[], shard: { index: number; count: number }): T[] {
  return jobs.filter((_, k) => k % shard.count === shard.index - 1);
}

/** The backend a sweep runs on (what {@link RunContext.backend} holds). */
export type BenchBackend = RunContext['backend'];

/**
 * Selects the backend through `@trainkit/backend`'s `useBackend` (auto: tfjs-node-gpu, tfjs-node, webgpu, wasm with
 * trainkit's training kernels, cpu).
 *
 * @param name - `auto` or a backend name
 * @param log - receives the lines about skipped backends
 */
export async function selectBackend(name: string, log: (line: string) => void = () => {}): Promise<BenchBackend> {
  const { useBackend } = await import('@trainkit/backend');
  const info = await useBackend(name as Parameters<typeof useBackend>[0], { log });
  const adapter = await webgpuAdapter(info.name, info);
  return { name: info.name, device: info.device, trainingKernels: info.trainingKernels, threads: info.threads, ...(adapter ? { adapter } : {}) };
}

let versionsCache: Record<string, string> | undefined;

/** Versions of Node, tfjs (all its parts) and the trainkit packages, for the result files. */
export function packageVersions(): Record<string, string> {
  if (versionsCache) return versionsCache;
  const out: Record<string, string> = { node: process.version };
  for (const [k, v] of Object.entries(tf.version)) out[`@tensorflow/${k}`] = v;
  const require = createRequire(import.meta.url);
  for (const name of ['@tensorflow/tfjs-backend-wasm', '@trainkit/core', '@trainkit/backend', '@trainkit/lawn', '@trainkit/mimicnorm', '@trainkit/eman', '@trainkit/afan', '@trainkit/prune', '@trainkit/unify', 'vega', 'vega-lite']) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // not installed or not exporting package.json: leave it out
    }
  }
  versionsCache = out;
  return out;
}

/** Options of {@link runJobs}. */
export interface RunJobsOptions {
  outDir: string;
  backend: BenchBackend;
  dataDir?: string;
  /** Where progress and log lines go. @defaultValue a {@link createProgress} on `stream` */
  progress?: Progress;
  /** @defaultValue process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Re-run jobs even when their result exists (the new result replaces it). @defaultValue false */
  force?: boolean;
  /** A run lock nobody refreshed for this long is broken (its holder crashed). @defaultValue 10 minutes */
  staleLockMs?: number;
  /** How often to look again at runs another process is running, ms. @defaultValue 1000 */
  pollMs?: number;
  /** Called after each job (for tests). */
  onJobDone?: (job: Job, status: 'done' | 'skipped' | 'failed', run?: StoredRun) => void;
}

/** Outcome of a sweep. */
export interface SweepSummary {
  done: number;
  /** Finished earlier, or by another process during this sweep. */
  skipped: number;
  /** Of `skipped`: finished by another process on the same `--out` while this sweep ran. */
  byOthers: number;
  failed: Array<{ job: string; error: string }>;
  wallMs: number;
}

/**
 * Checks that `outDir` can be created and written (a probe file is written and removed), before any training.
 *
 * @throws TrainkitError `INVALID_ARGUMENT` naming `--out` when it cannot
 */
export function checkWritable(outDir: string): void {
  const probe = join(outDir, `.write-probe-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(outDir, { recursive: true });
    writeJsonAtomic(probe, { probe: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TrainkitError('INVALID_ARGUMENT', `--out ${outDir} is not a writable folder (${code}); results could not be saved`, '--out');
  }
  rmSync(probe, { force: true });
}

/** The identity settings a run is asked for now (everything but the data, which is known once it has loaded). */
function configOf(job: Job, backend: BenchBackend): Omit<RunIdentity, 'data' | 'dataDir'> {
  return runConfig({ experimentId: job.experiment.id, version: job.experiment.version, arm: job.arm, seed: job.seed, profile: job.profile, backend, settings: job.settings });
}

function diffValues(a: unknown, b: unknown, path: string, out: string[]): void {
  if (configHash(a) === configHash(b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) diffValues(ra[k], rb[k], path ? `${path}.${k}` : k, out);
    return;
  }
  out.push(`${path} ${JSON.stringify(a) ?? 'unset'} → ${JSON.stringify(b) ?? 'unset'}`);
}

/** What differs between a stored run's configuration and the one asked for now, in words. */
function configDiff(stored: Omit<RunIdentity, 'data' | 'dataDir'>, now: Omit<RunIdentity, 'data' | 'dataDir'>): string[] {
  const out: string[] = [];
  const pick = (c: Omit<RunIdentity, 'data' | 'dataDir'>): Record<string, unknown> => ({ version: c.version, arm: c.arm, backend: c.backend, settings: c.settings });
  diffValues(pick(stored), pick(now), '', out);
  return out;
}

/**
 * Why a stored run cannot stand for the run asked for now, or undefined when it can: no identity (an older bench), a
 * different configuration, or data that resolves differently today (other `--data`, a full set installed over the
 * embedded fallback, changed or truncated files).
 */
export function staleReason(stored: StoredRun, now: Omit<RunIdentity, 'data' | 'dataDir'>, dataDir: string | undefined): string | undefined {
  const id = stored.identity;
  if (!id) return 'it was stored by an older bench that did not record its data (schema 1)';
  const diff = configDiff(id, now);
  if (diff.length || id.configHash !== now.configHash) return `its settings differ: ${diff.join(', ') || 'configuration hash'}`;
  for (const d of id.data) {
    const request = d.request.dir !== undefined && id.dataDir !== null && d.request.dir === id.dataDir ? { ...d.request, dir: dataDir } : d.request;
    let current: DataIdentity;
    try {
      current = resolveDataIdentity(request as DataIdentity['request'], d.subset);
    } catch (e) {
      return `its data cannot be resolved now (${(e as Error).message})`;
    }
    if (dataKey(current) !== dataKey(d)) return `its data changed: it used ${describeData(d)}; now ${describeData(current)}`;
  }
  return undefined;
}

/**
 * Refuses a run output that must not be stored as finished: no metrics, a non-finite metric, empty data.
 *
 * @throws TrainkitError `INVALID_ARGUMENT` naming the field
 */
function checkOutput(out: RunOutput, data: DataIdentity[]): void {
  if (!out || typeof out !== 'object' || !out.metrics || typeof out.metrics !== 'object' || Object.keys(out.metrics).length === 0) {
    throw invalidArgument('metrics', out?.metrics, 'a non-empty object of finite numbers (the run measured nothing)');
  }
  for (const [k, v] of Object.entries(out.metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw invalidArgument(`metrics.${k}`, v, 'a finite number; a run with a non-finite metric is not stored (leave out a metric that was not measured)');
    }
  }
  if (out.data && !(out.data.trainSize >= 1 && out.data.testSize >= 1)) {
    throw invalidArgument('data', `${out.data.name}: ${out.data.trainSize} train / ${out.data.testSize} test examples`, 'data with at least one train and one test example');
  }
  for (const d of data) if (d.files.some((f) => f.size === 0)) throw invalidArgument('data', describeData(d), 'data files that are not empty');
}

/** Another finished run of the same arm, seed, profile and backend under another configuration (for the log line). */
function otherConfig(file: string): StoredRun | undefined {
  const dir = dirname(file);
  const slot = runSlot(basename(file, '.json'));
  if (!existsSync(dir)) return undefined;
  let best: StoredRun | undefined;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json') || !name.startsWith(slot) || name === basename(file)) continue;
    const r = loadRun(join(dir, name)).run;
    if (r?.identity && (!best || r.finishedAt > best.finishedAt)) best = r;
  }
  return best;
}

type Attempt = 'done' | 'skipped' | 'failed' | 'busy';

/**
 * Runs jobs one after another. A job whose stored result is valid and has the same identity (settings and data) is
 * skipped, so an interrupted sweep resumes where it stopped; a stored result that is invalid or stale is re-run with
 * a line saying why. Each job is run under a lock (`<run>.lock`), so several processes on one `outDir` share the
 * jobs out: a job locked by another live process is looked at again until that process has finished it (or crashed,
 * in which case its stale lock is broken and the job is run here).
 *
 * @returns counts and the failures (a failed run writes no result and is retried next time)
 * @throws TrainkitError when `outDir` is not writable (checked before any training) or a result cannot be saved
 */
export async function runJobs(jobs: readonly Job[], opts: RunJobsOptions): Promise<SweepSummary> {
  const summary: SweepSummary = { done: 0, skipped: 0, byOthers: 0, failed: [], wallMs: 0 };
  const t0 = Date.now();
  const sweepStart = new Date(t0).toISOString();
  checkWritable(opts.outDir);
  let current = '';
  const progress = opts.progress ?? createProgress({ prefix: () => current, stream: opts.stream });
  const versions = packageVersions();
  const host = { platform: platform(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' };
  const staleMs = opts.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  const waitingOn = new Set<number>();

  const attempt = async (job: Job, k: number): Promise<Attempt> => {
    const { experiment, arm, seed } = job;
    current = `[${k + 1}/${jobs.length}] ${experiment.id} ${arm.id} s${seed}`;
    const config = configOf(job, opts.backend);
    const runId = makeRunId(config);
    const file = resultPath(opts.outDir, experiment.id, runId);
    const stored = (): { ok: boolean; why?: string; missing?: boolean; run?: StoredRun } => {
      const loaded = loadRun(file);
      if (!loaded.run) return { ok: false, why: `${file} is a bad result file: ${loaded.error}`, missing: loaded.missing };
      if (opts.force && loaded.run.finishedAt < sweepStart) return { ok: false, why: '--force' };
      const why = staleReason(loaded.run, config, opts.dataDir);
      return why ? { ok: false, why: `the stored run is stale: ${why}` } : { ok: true, run: loaded.run };
    };
    const before = stored();
    if (before.ok) {
      // A crash between saving the result and unlocking leaves the lock behind: clear it if its holder is gone.
      tryLock(file.replace(/\.json$/, '.lock'), { staleMs }).lock?.release();
      if (waitingOn.has(k)) summary.byOthers++;
      summary.skipped++;
      progress.log(waitingOn.has(k) ? 'finished by another process, skipped' : 'finished earlier, skipped');
      opts.onJobDone?.(job, 'skipped', before.run);
      return 'skipped';
    }
    mkdirSync(dirname(file), { recursive: true });
    const got = tryLock(file.replace(/\.json$/, '.lock'), { staleMs });
    if (!got.lock) {
      if (!waitingOn.has(k)) {
        const who = got.heldBy ? `process ${got.heldBy.pid} on ${got.heldBy.host} since ${got.heldBy.startedAt}` : 'another process';
        progress.log(`being run by ${who}; will look again`);
        waitingOn.add(k);
      }
      return 'busy';
    }
    const lock: RunLock = got.lock;
    try {
      if (got.stale) progress.log(`took over the lock of a crashed run (${got.stale})`);
      const now = stored(); // another process may have finished it between our look and the lock
      if (now.ok) {
        if (waitingOn.has(k)) summary.byOthers++;
        summary.skipped++;
        progress.log(waitingOn.has(k) ? 'finished by another process, skipped' : 'finished earlier, skipped');
        opts.onJobDone?.(job, 'skipped', now.run);
        return 'skipped';
      }
      if (now.missing) {
        const other = opts.force ? undefined : otherConfig(file);
        if (other?.identity) progress.log(`settings changed since ${other.runId}: ${configDiff(other.identity, config).join(', ') || 'configuration hash'}; running anew`);
      } else if (now.why) {
        progress.log(`re-running: ${now.why}`);
      }
      const removed = removeStaleTemps(file, staleMs);
      if (removed > 0) progress.log(`removed ${removed} partial file(s) of an interrupted run`);
      return await execute(job, config, runId, file, lock);
    } finally {
      lock.release();
    }
  };

  const execute = async (job: Job, config: Omit<RunIdentity, 'data' | 'dataDir'>, runId: string, file: string, lock: RunLock): Promise<Attempt> => {
    const { experiment, arm, seed, profile, settings } = job;
    const peak = { tensor: tf.memory().numBytes, rss: process.memoryUsage().rss };
    let beat = Date.now();
    const sample = (): void => {
      peak.tensor = Math.max(peak.tensor, tf.memory().numBytes);
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
      if (Date.now() - beat > 10_000) {
        beat = Date.now();
        lock.heartbeat();
      }
    };
    const timer = setInterval(() => lock.heartbeat(), Math.max(1000, Math.min(30_000, staleMs / 4)));
    timer.unref();
    const ctx: RunContext = {
      experimentId: experiment.id,
      arm,
      seed,
      profile,
      settings,
      backend: opts.backend,
      dataDir: opts.dataDir,
      log: (m) => progress.log(m),
      progress: {
        start: (total, label) => progress.start(total, label),
        tick: (n, metrics) => {
          sample();
          progress.tick(n, metrics);
        },
      },
    };
    const startedAt = new Date().toISOString();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    const tensors0 = tf.memory().numTensors;
    let record: StoredRun;
    try {
      const { value: out, data } = await recordDataUse(() => experiment.run(ctx));
      checkOutput(out, data);
      sample();
      progress.done();
      const wallMs = performance.now() - w0;
      const cpu = process.cpuUsage(cpu0);
      record = {
        schema: 2,
        runId,
        identity: { ...config, data, dataDir: opts.dataDir ?? null },
        experimentId: experiment.id,
        armId: arm.id,
        arm,
        seed,
        profile,
        settings: settings as Record<string, unknown>,
        backend: opts.backend,
        data: out.data,
        metrics: out.metrics,
        curves: out.curves,
        extra: out.extra,
        wallMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        startedAt,
        finishedAt: new Date().toISOString(),
        memory: { peakTensorBytes: peak.tensor, peakRssBytes: peak.rss },
        versions,
        host,
      };
      // what is stored must read back as valid (e.g. curves of objects, JSON-safe extra)
      const problems = validateRun(JSON.parse(JSON.stringify(record)));
      if (problems.length) throw new TrainkitError('INVALID_ARGUMENT', `the run's output is not a valid result: ${problems.join('; ')}`, 'RunOutput');
    } catch (e) {
      clearInterval(timer);
      progress.done();
      const msg = e instanceof TrainkitError ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
      progress.log(`FAILED: ${msg}`);
      summary.failed.push({ job: `${experiment.id}/${runId}`, error: msg });
      opts.onJobDone?.(job, 'failed');
      return 'failed';
    }
    clearInterval(timer);
    try {
      writeJsonAtomic(file, record);
    } catch (e) {
      throw new TrainkitError('INVALID_ARGUMENT', `--out ${opts.outDir}: cannot save ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}); sweep stopped`, '--out');
    }
    const leaked = tf.memory().numTensors - tensors0;
    const acc = record.metrics['testAcc'];
    progress.log(
      `done in ${formatDuration(record.wallMs / 1000)}${acc !== undefined ? `, testAcc ${acc.toFixed(4)}` : ''}${leaked > 0 ? ` (warning: ${leaked} tensors left behind)` : ''}`,
    );
    summary.done++;
    opts.onJobDone?.(job, 'done', record);
    return 'done';
  };

  let queue = jobs.map((_, k) => k);
  while (queue.length) {
    const busy: number[] = [];
    for (const k of queue) if ((await attempt(jobs[k] as Job, k)) === 'busy') busy.push(k);
    queue = busy;
    if (queue.length) await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
  summary.wallMs = Date.now() - t0;
  return summary;
}
