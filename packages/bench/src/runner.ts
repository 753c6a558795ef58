import { cpus, platform, arch } from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { TrainkitError, invalidArgument } from '@trainkit/core';
import type { ArmSpec, ExperimentDefinition, ProfileName, ProfileSettings, RunContext } from './experiment';
import { createProgress, formatDuration, type Progress } from './progress';
import { webgpuAdapter } from './adapter';
import { isFinished, makeRunId, removeStaleTemps, resultPath, writeJsonAtomic, type StoredRun } from './results';

export const PROFILES: readonly ProfileName[] = ['smoke', 'quick', 'standard', 'gpu', 'paper'];

/** One (experiment, arm, seed) run of a sweep. */
export interface Job {
  experiment: ExperimentDefinition;
  arm: ArmSpec;
  seed: number;
  profile: ProfileName;
  settings: ProfileSettings;
}

/**
 * Expands experiments into jobs: every arm × seeds 1..N of the profile (N = `seeds` or the profile's own).
 *
 * @returns the jobs in a stable order (experiment, seed, arm) and the experiments that lack the profile
 */
export function planJobs(experiments: readonly ExperimentDefinition[], opts: { profile: ProfileName; seeds?: number }): { jobs: Job[]; unsupported: string[] } {
  const jobs: Job[] = [];
  const unsupported: string[] = [];
  for (const experiment of experiments) {
    const settings = experiment.profiles[opts.profile];
    if (!settings) {
      unsupported.push(experiment.id);
      continue;
    }
    const n = opts.seeds ?? settings.seeds;
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
  if (!m || !(count >= 1) || !(index >= 1) || index > count) throw invalidArgument('--shard', text, 'i/n with integers 1 <= i <= n, e.g. 2/4');
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
  /** Called after each job (for tests). */
  onJobDone?: (job: Job, status: 'done' | 'skipped' | 'failed', run?: StoredRun) => void;
}

/** Outcome of a sweep. */
export interface SweepSummary {
  done: number;
  skipped: number;
  failed: Array<{ job: string; error: string }>;
  wallMs: number;
}

/**
 * Runs jobs one after another, skipping any whose result file already exists (so an interrupted sweep resumes where
 * it stopped), writing each result atomically as soon as its run ends.
 *
 * @returns counts and the failures (a failed run writes no result and is retried next time)
 */
export async function runJobs(jobs: readonly Job[], opts: RunJobsOptions): Promise<SweepSummary> {
  const summary: SweepSummary = { done: 0, skipped: 0, failed: [], wallMs: 0 };
  const t0 = Date.now();
  let current = '';
  let k = 0;
  const progress = opts.progress ?? createProgress({ prefix: () => current, stream: opts.stream });
  const versions = packageVersions();
  const host = { platform: platform(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' };
  for (const job of jobs) {
    k++;
    const { experiment, arm, seed, profile, settings } = job;
    current = `[${k}/${jobs.length}] ${experiment.id} ${arm.id} s${seed}`;
    const runId = makeRunId({ arm, seed, profile, backend: opts.backend.name, settings, version: experiment.version });
    const file = resultPath(opts.outDir, experiment.id, runId);
    if (!opts.force && isFinished(opts.outDir, experiment.id, runId)) {
      summary.skipped++;
      progress.log('finished earlier, skipped');
      opts.onJobDone?.(job, 'skipped');
      continue;
    }
    const stale = removeStaleTemps(file);
    if (stale > 0) progress.log(`removed ${stale} partial file(s) of an interrupted run`);
    const peak = { tensor: tf.memory().numBytes, rss: process.memoryUsage().rss };
    const sample = (): void => {
      peak.tensor = Math.max(peak.tensor, tf.memory().numBytes);
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
    };
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
    try {
      const out = await experiment.run(ctx);
      sample();
      progress.done();
      const wallMs = performance.now() - w0;
      const cpu = process.cpuUsage(cpu0);
      const record: StoredRun = {
        schema: 1,
        runId,
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
      writeJsonAtomic(file, record);
      const leaked = tf.memory().numTensors - tensors0;
      const acc = out.metrics['testAcc'];
      progress.log(
        `done in ${formatDuration(wallMs / 1000)}${acc !== undefined ? `, testAcc ${acc.toFixed(4)}` : ''}${leaked > 0 ? ` (warning: ${leaked} tensors left behind)` : ''}`,
      );
      summary.done++;
      opts.onJobDone?.(job, 'done', record);
    } catch (e) {
      progress.done();
      const msg = e instanceof TrainkitError ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e);
      progress.log(`FAILED: ${msg}`);
      summary.failed.push({ job: `${experiment.id}/${runId}`, error: msg });
      opts.onJobDone?.(job, 'failed');
    }
  }
  summary.wallMs = Date.now() - t0;
  return summary;
}
