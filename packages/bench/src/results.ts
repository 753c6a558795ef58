import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { ArmSpec, CurvePoint, DataInfo, ProfileName, RunRecord } from './experiment';

/** A finished run as stored in `results/<experiment>/<run-id>.json`. */
export interface StoredRun extends RunRecord {
  schema: 1;
  runId: string;
  arm: ArmSpec;
  settings: Record<string, unknown>;
  data?: DataInfo;
  curves?: CurvePoint[];
  startedAt: string;
  finishedAt: string;
  /** Process CPU time of the run, ms (user + system). */
  cpuMs: number;
  /** High-water marks sampled during the run: tf.memory().numBytes and process RSS. */
  memory: { peakTensorBytes: number; peakRssBytes: number };
  /** Versions of Node, tfjs and the trainkit packages. */
  versions: Record<string, string>;
  host: { platform: string; arch: string; cpus: number; cpuModel: string };
}

const SAFE = /^[A-Za-z0-9._-]+$/;

/** A short stable hash of any JSON value (key order does not matter). */
export function configHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
        : v;
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 8);
}

/**
 * The run id: arm, seed, profile, backend and a hash of (settings without `seeds`, arm, experiment version), so a
 * changed configuration is a new run while asking for more seeds keeps the runs already done.
 *
 * @returns a file-name-safe id, e.g. `adam__s1__quick__wasm__3f2a9c1d`
 */
export function makeRunId(args: { arm: ArmSpec; seed: number; profile: ProfileName; backend: string; settings: unknown; version?: number | string }): string {
  const { seeds: _seeds, ...settings } = (args.settings ?? {}) as Record<string, unknown>;
  const hashed: Record<string, unknown> = { settings, arm: args.arm };
  if (args.version !== undefined) hashed['version'] = args.version;
  const id = `${args.arm.id}__s${args.seed}__${args.profile}__${args.backend}__${configHash(hashed)}`;
  return id.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** `<outDir>/<experimentId>/<runId>.json`. */
export function resultPath(outDir: string, experimentId: string, runId: string): string {
  if (!SAFE.test(experimentId) || !SAFE.test(runId)) throw new Error(`unsafe result path part: ${experimentId}/${runId}`);
  return join(outDir, experimentId, `${runId}.json`);
}

/**
 * Writes JSON atomically: a temp file in the same folder (`<file>.tmp-<pid>-<random>`), fsync, then rename over the
 * target. A reader sees the old file or the new one, never a partial one; a process killed mid-write leaves only a
 * temp file, which readers ignore and the next run of that job removes.
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(value, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Removes leftover temp files of `file` (from a killed process). @returns how many */
export function removeStaleTemps(file: string): number {
  const dir = dirname(file);
  if (!existsSync(dir)) return 0;
  const prefix = `${file.slice(dir.length + 1)}.tmp-`;
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(prefix)) {
      rmSync(join(dir, name), { force: true });
      n++;
    }
  }
  return n;
}

function isStoredRun(v: unknown): v is StoredRun {
  const r = v as StoredRun;
  return !!r && r.schema === 1 && typeof r.runId === 'string' && typeof r.experimentId === 'string' && typeof r.armId === 'string' && !!r.metrics;
}

/** Reads one result file; undefined when it is missing or not a complete run record. */
export function readRun(file: string): StoredRun | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isStoredRun(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a finished, readable result exists for this run. */
export function isFinished(outDir: string, experimentId: string, runId: string): boolean {
  return readRun(resultPath(outDir, experimentId, runId)) !== undefined;
}

/**
 * Reads every run record under one or more results folders (`<dir>/<experiment>/*.json`), merging them: one run per
 * (experiment, arm, seed, profile, backend) — the same run found in several folders, or an older run of a since
 * changed configuration, counts once: the most recently finished wins.
 *
 * @returns the runs, the files that could not be read, and how many older runs were superseded
 */
export function readRuns(dirs: readonly string[]): { runs: StoredRun[]; unreadable: string[]; superseded: number } {
  const byKey = new Map<string, StoredRun>();
  const unreadable: string[] = [];
  let superseded = 0;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const exp of readdirSync(dir)) {
      const sub = join(dir, exp);
      if (exp === 'speed' || exp === 'report-plots' || !statSync(sub).isDirectory()) continue;
      for (const name of readdirSync(sub)) {
        if (!name.endsWith('.json')) continue;
        const file = join(sub, name);
        const run = readRun(file);
        if (!run) {
          unreadable.push(file);
          continue;
        }
        const key = `${run.experimentId}/${run.armId}/${run.seed}/${run.profile}/${run.backend.name}`;
        const prev = byKey.get(key);
        if (prev && prev.runId !== run.runId) superseded++;
        if (!prev || prev.finishedAt < run.finishedAt) byKey.set(key, run);
      }
    }
  }
  const runs = [...byKey.values()].sort((a, b) =>
    a.experimentId === b.experimentId ? (a.armId === b.armId ? a.seed - b.seed : a.armId < b.armId ? -1 : 1) : a.experimentId < b.experimentId ? -1 : 1,
  );
  return { runs, unreadable, superseded };
}
