import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { DataIdentity } from './data/identity';
import type { ArmSpec, CurvePoint, DataInfo, ProfileName, RunRecord } from './experiment';
import { pidAlive } from './lock';

/**
 * Everything that decides a run's result. Two runs with equal identities are the same run; a stored run whose
 * identity differs from the one asked for now is re-run.
 */
export interface RunIdentity {
  /** Hash of the fields below except `data` and `dataDir`: the last part of the run id. */
  configHash: string;
  experimentId: string;
  version: number | string | null;
  arm: ArmSpec;
  seed: number;
  profile: ProfileName;
  backend: { name: string; trainingKernels: string };
  /** The profile's settings without `seeds` (asking for more seeds keeps the runs done). */
  settings: Record<string, unknown>;
  /** Every data set the run loaded: source, folder, size + SHA-256 of each file, subset. */
  data: DataIdentity[];
  /** The sweep's `--data` (a request that used it is resolved against the current one on resume). */
  dataDir: string | null;
}

/** A finished run as stored in `results/<experiment>/<run-id>.json`. */
export interface StoredRun extends RunRecord {
  /** 2 (with `identity`); 1 = written by an older bench, readable by `report` but re-run by `run`. */
  schema: 1 | 2;
  identity?: RunIdentity;
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

/** The part of a run's identity known before it runs (all but the data), hashed. */
export function runConfig(args: {
  experimentId: string;
  version?: number | string;
  arm: ArmSpec;
  seed: number;
  profile: ProfileName;
  backend: { name: string; trainingKernels: string };
  settings: unknown;
}): Omit<RunIdentity, 'data' | 'dataDir'> {
  const { seeds: _seeds, ...settings } = (args.settings ?? {}) as Record<string, unknown>;
  const base = {
    experimentId: args.experimentId,
    version: args.version ?? null,
    arm: args.arm,
    seed: args.seed,
    profile: args.profile,
    backend: { name: args.backend.name, trainingKernels: args.backend.trainingKernels },
    settings,
  };
  const { seed: _seed, ...hashed } = base; // the seed is in the id in clear
  return { configHash: configHash(hashed), ...base };
}

/**
 * The run id: arm, seed, profile, backend and the config hash of {@link runConfig} (settings without `seeds`, arm,
 * experiment version, backend and training kernels), so a changed configuration is a new file while asking for more
 * seeds keeps the runs already done. The data is not in the id: a stored run with other data is re-run in place.
 *
 * @returns a file-name-safe id, e.g. `adam__s1__quick__wasm__3f2a9c1d`
 */
export function makeRunId(config: Pick<RunIdentity, 'arm' | 'seed' | 'profile' | 'backend' | 'configHash'>): string {
  return `${config.arm.id}__s${config.seed}__${config.profile}__${config.backend.name}__${config.configHash}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** The id without its hash: runs of the same arm, seed, profile and backend under any configuration share it. */
export function runSlot(runId: string): string {
  return runId.replace(/__[0-9a-f]{8}$/, '__');
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

/**
 * Removes leftover temp files of `file` whose writer is gone (a dead pid on this host, or older than `staleMs`), never
 * one a live process is still writing. @returns how many
 */
export function removeStaleTemps(file: string, staleMs = 10 * 60_000): number {
  const dir = dirname(file);
  if (!existsSync(dir)) return 0;
  const prefix = `${file.slice(dir.length + 1)}.tmp-`;
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    let old = false;
    try {
      old = Date.now() - statSync(join(dir, name)).mtimeMs > staleMs;
    } catch {
      continue;
    }
    if (pidAlive(pid) && !old) continue;
    rmSync(join(dir, name), { force: true });
    n++;
  }
  return n;
}

const PROFILE_NAMES = ['smoke', 'quick', 'standard', 'paper'];

type Check = (v: unknown, at: string, out: string[]) => void;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v, at, out) => {
  if (typeof v !== 'string' || v === '') out.push(`${at} must be a non-empty string`);
};
const finite =
  (min = -Infinity, integer = false): Check =>
  (v, at, out) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      out.push(`${at} must be a finite ${integer ? 'integer' : 'number'}${min > -Infinity ? ` >= ${min}` : ''}, found ${JSON.stringify(v)}`);
    }
  };
const date: Check = (v, at, out) => {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) out.push(`${at} must be an ISO date, found ${JSON.stringify(v)}`);
};
const obj =
  (fields: Record<string, Check>, optional: readonly string[] = []): Check =>
  (v, at, out) => {
    if (!isObj(v)) {
      out.push(`${at} must be an object, found ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
      return;
    }
    for (const [k, check] of Object.entries(fields)) {
      if (v[k] === undefined) {
        if (!optional.includes(k)) out.push(`${at}.${k} is missing`);
      } else check(v[k], `${at}.${k}`, out);
    }
  };
const record =
  (check: Check, nonEmpty = false): Check =>
  (v, at, out) => {
    if (!isObj(v)) out.push(`${at} must be an object`);
    else {
      if (nonEmpty && Object.keys(v).length === 0) out.push(`${at} is empty`);
      for (const [k, x] of Object.entries(v)) check(x, `${at}.${k}`, out);
    }
  };
const list =
  (check: Check): Check =>
  (v, at, out) => {
    if (!Array.isArray(v)) out.push(`${at} must be an array`);
    else v.forEach((x, i) => check(x, `${at}[${i}]`, out));
  };
const anyObj: Check = (v, at, out) => {
  if (!isObj(v)) out.push(`${at} must be an object`);
};
const oneOf =
  (values: readonly unknown[]): Check =>
  (v, at, out) => {
    if (!values.includes(v)) out.push(`${at} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, found ${JSON.stringify(v)}`);
  };
const curvePoint: Check = (v, at, out) => {
  if (!isObj(v)) {
    out.push(`${at} must be an object`);
    return;
  }
  finite()(v['epoch'], `${at}.epoch`, out);
  // a curve may hold a metric that was not measured at that point (NaN, stored as null)
  for (const [k, x] of Object.entries(v)) if (x !== null && typeof x !== 'number') out.push(`${at}.${k} must be a number or null, found ${JSON.stringify(x)}`);
};
const dataIdentity = obj({
  dataset: str,
  source: str,
  dir: str,
  files: list(obj({ name: str, size: finite(0, true), sha256: str })),
  subset: anyObj,
  request: obj({ loader: oneOf(['fashion-mnist', 'cifar']) }),
});
const backendCheck = obj({ name: str, device: oneOf(['cpu', 'gpu']), trainingKernels: str, threads: finite(0) });

/** The one schema of a stored run (schema 2; schema 1 is the same without `identity`). */
const RUN_SCHEMA = obj(
  {
    schema: oneOf([1, 2]),
    runId: (v, at, out) => (typeof v === 'string' && SAFE.test(v) ? undefined : out.push(`${at} must be a file-name-safe string`)),
    experimentId: (v, at, out) => (typeof v === 'string' && SAFE.test(v) ? undefined : out.push(`${at} must be a file-name-safe string`)),
    armId: str,
    arm: obj({ id: str, label: str }),
    seed: finite(-Infinity, true),
    profile: oneOf(PROFILE_NAMES),
    settings: anyObj,
    backend: backendCheck,
    metrics: record(finite(), true),
    curves: list(curvePoint),
    extra: anyObj,
    data: obj({ name: str, trainSize: finite(1, true), testSize: finite(1, true) }),
    wallMs: finite(0),
    cpuMs: finite(0),
    startedAt: date,
    finishedAt: date,
    memory: obj({ peakTensorBytes: finite(0), peakRssBytes: finite(0) }),
    versions: record(str),
    host: obj({ platform: str, arch: str, cpus: finite(0, true), cpuModel: str }),
    identity: obj({
      configHash: str,
      experimentId: str,
      arm: obj({ id: str }),
      seed: finite(-Infinity, true),
      profile: oneOf(PROFILE_NAMES),
      backend: obj({ name: str, trainingKernels: str }),
      settings: anyObj,
      data: list(dataIdentity),
    }),
  },
  ['curves', 'extra', 'data', 'identity'],
);

/**
 * Checks a value against the stored-run schema (every field `report` and the resume logic read, with its type;
 * finite metrics; non-empty data; schema 2 requires `identity`).
 *
 * @returns the problems found, empty when the value is a valid run
 */
export function validateRun(v: unknown): string[] {
  const out: string[] = [];
  RUN_SCHEMA(v, 'run', out);
  if (out.length === 0) {
    const r = v as StoredRun;
    if (r.schema === 2 && r.identity === undefined) out.push('run.identity is missing (schema 2)');
    if (r.arm.id !== r.armId) out.push(`run.arm.id ${JSON.stringify(r.arm.id)} differs from run.armId ${JSON.stringify(r.armId)}`);
  }
  return out;
}

/** A result file read and checked: the run, or why it cannot be used. */
export type LoadedRun = { run: StoredRun; error?: undefined } | { run?: undefined; error: string; missing?: boolean };

/** Reads and validates one result file. */
export function loadRun(file: string): LoadedRun {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(e)})`, missing: code === 'ENOENT' };
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON (${(e as Error).message})` };
  }
  const problems = validateRun(v);
  if (problems.length) return { error: `not a valid run record: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}` };
  return { run: v as StoredRun };
}

/** Reads one result file; undefined when it is missing or not a valid run record ({@link loadRun} says why). */
export function readRun(file: string): StoredRun | undefined {
  return loadRun(file).run;
}

/** Whether a valid result exists for this run (its identity is not checked: the runner does that). */
export function isFinished(outDir: string, experimentId: string, runId: string): boolean {
  return readRun(resultPath(outDir, experimentId, runId)) !== undefined;
}

/**
 * Reads every run record under one or more results folders (`<dir>/<experiment>/*.json`), merging them: one run per
 * (experiment, arm, seed, profile, backend) — the same run found in several folders, or an older run of a since
 * changed configuration, counts once: the most recently finished wins.
 *
 * @returns the runs, the files that are not valid run records (and why), and how many older runs were superseded
 */
export function readRuns(dirs: readonly string[]): { runs: StoredRun[]; unreadable: string[]; bad: Array<{ file: string; reason: string }>; superseded: number } {
  const byKey = new Map<string, StoredRun>();
  const bad: Array<{ file: string; reason: string }> = [];
  let superseded = 0;
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const exp of readdirSync(dir)) {
      const sub = join(dir, exp);
      if (exp === 'speed' || exp === 'report-plots' || exp.startsWith('.') || !statSync(sub).isDirectory()) continue;
      for (const name of readdirSync(sub)) {
        if (!name.endsWith('.json')) continue;
        const file = join(sub, name);
        const loaded = loadRun(file);
        const run = loaded.run;
        if (!run) {
          bad.push({ file, reason: loaded.error ?? 'unreadable' });
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
  return { runs, unreadable: bad.map((b) => b.file), bad, superseded };
}
