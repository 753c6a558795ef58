import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrainkitError } from '@trainkit/core';
import type { ExperimentDefinition, ProfileName } from '../experiment';
import type { SpeedModel } from '../speed';
import { formatDuration } from '../progress';
import { writeReport, saveSpeed } from '../reporting/index';
import { checkDataFor, embeddedFashionDir, type DataSettings } from '../data';
import { describeSettings, formatValue, parseOverride, resolveOverrides } from '../overrides';
import { MAX_SEEDS, PROFILES, checkWritable, parseShard, planJobs, runJobs, selectBackend, shardJobs, type BenchBackend, type Job } from '../runner';

/** Where output goes (tests pass their own). */
export interface CliIo {
  out: (line: string) => void;
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

const HELP = `trainkit-bench — reproduces each trainkit paper claim against its baseline

Usage:
  trainkit-bench                      run all --profile quick, then report (what \`pnpm bench\` does)
  trainkit-bench list [--settings]    experiments, their paper claims and profiles (--settings: each profile's settings and arm ids)
  trainkit-bench run <experiment...|all> [--profile smoke|quick|standard|gpu|paper] [--seeds N]
                     [--backend auto|wasm|cpu|node|node-gpu|webgpu] [--data DIR] [--out DIR] [--shard i/n] [--force]
                     [--set [experiment.]key=value ...] [--arms id,id]
  trainkit-bench report [DIR...] [--out DIR]   merge result folders into report.md + report.html
  trainkit-bench speed [--backends a,b] [--models smallCnn,resnet20,resnet56,vgg11,mobilenetv2] [--steps N] [--threads N] [--python PATH] [--in-process] [--out DIR]
                                       step time per backend and PyTorch (when python3 with torch is there)

Results: <out>/<experiment>/<run-id>.json (default out: packages/bench/results). Finished runs are skipped, so an
interrupted sweep resumes (--force re-runs them). --shard i/n runs every n-th job starting at the i-th (1-based) of the planned list.
--arms runs only the arms with those ids (\`list --settings\` prints them per profile).
--set changes one profile setting (repeatable; \`list --settings\` shows them), e.g. --set eman.recipe=reference for the
EMAN reference recipe (τ 0.7, λ_u 10, μ 5, EMA momentum 0.999, weight decay 1e-4). Without "experiment." it applies to
every experiment of the run that has the key. The value is checked against the setting's type; overridden settings
are part of the run id, so changing one re-runs, and the report prints them. Give each variant its own --out: a
report keeps only the newest run per arm, seed, profile and backend.
Data: --data DIR, else TRAINKIT_DATA, else /usr/share/datasets/fashion-mnist, else the embedded subset.
      --profile paper needs --data with the CIFAR binaries (cifar-10-batches-bin / cifar-100-binary); --profile gpu uses
      CIFAR-10 from --data when it is there.`;

/** The bench package folder (holds package.json; results/ goes there by default). */
export function benchRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@trainkit/bench') return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
  /** Every `--set` (repeatable), in order. */
  sets: string[];
}

const VALUE_FLAGS = new Set(['set', 'arms', 'profile', 'seeds', 'backend', 'data', 'out', 'shard', 'backends', 'steps', 'models', 'threads', 'python']);
const BOOL_FLAGS = new Set(['help', 'force', 'settings', 'in-process']);

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const sets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') continue; // `pnpm bench -- run …` passes the separator through
    if (a === '-h') {
      flags.set('help', 'true');
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (BOOL_FLAGS.has(name)) {
        flags.set(name, 'true');
        continue;
      }
      if (!VALUE_FLAGS.has(name)) throw new TrainkitError('INVALID_ARGUMENT', `unknown option --${name} (see --help)`, `--${name}`);
      const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value.startsWith('--')) throw new TrainkitError('INVALID_ARGUMENT', `--${name} needs a value`, `--${name}`);
      if (name === 'set') sets.push(value);
      else flags.set(name, value);
      continue;
    }
    positional.push(a);
  }
  return { positional, flags, sets };
}

/** A count flag: digits only, 1 <= value <= max. @throws TrainkitError naming the flag */
function countFlag(p: Parsed, name: string, max: number): number | undefined {
  const text = p.flags.get(name);
  if (text === undefined) return undefined;
  const v = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(v >= 1 && v <= max)) throw new TrainkitError('INVALID_ARGUMENT', `--${name} must be a whole number from 1 to ${max}; received "${text}"`, `--${name}`);
  return v;
}

function pickExperiments(all: readonly ExperimentDefinition[], names: string[]): ExperimentDefinition[] {
  if (names.length === 0) throw new TrainkitError('INVALID_ARGUMENT', `run needs experiment ids or "all"; known: ${all.map((e) => e.id).join(', ')}`, 'experiment');
  if (names.includes('all')) return [...all];
  return names.map((n) => {
    const e = all.find((x) => x.id === n);
    if (!e) throw new TrainkitError('INVALID_ARGUMENT', `unknown experiment "${n}"; known: ${all.map((x) => x.id).join(', ')}`, 'experiment');
    return e;
  });
}

/** The jobs of the arms named in `--arms a,b` (ids as `list` shows them). @throws TrainkitError naming an unknown arm and the known ones */
function pickArms(jobs: readonly Job[], text: string): Job[] {
  const known = [...new Set(jobs.map((j) => j.arm.id))];
  const ids = text.split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = ids.find((id) => !known.includes(id));
  if (ids.length === 0 || unknown !== undefined) {
    throw new TrainkitError('INVALID_ARGUMENT', `--arms: ${ids.length ? `unknown arm "${unknown}"` : 'no arm ids given'}; arms of this run: ${known.join(', ')}`, '--arms');
  }
  return jobs.filter((j) => ids.includes(j.arm.id));
}

async function cmdRun(p: Parsed, all: readonly ExperimentDefinition[], io: CliIo, outDir: string): Promise<number> {
  const profile = (p.flags.get('profile') ?? 'quick') as ProfileName;
  if (!PROFILES.includes(profile)) throw new TrainkitError('INVALID_ARGUMENT', `--profile must be one of ${PROFILES.join(', ')}; received "${profile}"`, '--profile');
  const seeds = countFlag(p, 'seeds', MAX_SEEDS);
  const dataFlag = p.flags.get('data');
  // smoke and quick use the embedded subset (the same data on every machine) unless --data or TRAINKIT_DATA says otherwise.
  const dataDir =
    dataFlag !== undefined
      ? resolve(dataFlag)
      : (profile === 'smoke' || profile === 'quick') && !process.env['TRAINKIT_DATA']
        ? embeddedFashionDir()
        : undefined;
  if (dataDir) process.env['TRAINKIT_DATA'] = dataDir;
  const experiments = pickExperiments(all, p.positional.slice(1));
  const overrides = resolveOverrides(experiments, profile, p.sets.map(parseOverride));
  const planned = planJobs(experiments, { profile, seeds, overrides });
  for (const [id, o] of overrides) io.out(`${id}: ${profile} settings overridden: ${Object.entries(o).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ')}`);
  for (const id of planned.unsupported) io.out(`${id}: no "${profile}" profile, skipped`);
  const armsFlag = p.flags.get('arms');
  const chosen = armsFlag === undefined ? planned.jobs : pickArms(planned.jobs, armsFlag);
  const shardFlag = p.flags.get('shard');
  const jobs = shardFlag ? shardJobs(chosen, parseShard(shardFlag)) : chosen;
  const firstJobs = new Map(jobs.map((j) => [j.experiment.id, j] as const)); // one check per experiment (its settings, overrides included)
  for (const j of firstJobs.values()) checkDataFor(j.settings as DataSettings, dataDir, `${j.experiment.id} --profile ${profile}`); // CIFAR profiles need --data
  checkWritable(outDir); // before the backend starts and anything trains
  const backend: BenchBackend = await selectBackend(p.flags.get('backend') ?? 'auto', (l) => io.out(l.startsWith('backend') ? l : `backend: ${l}`));
  io.out(
    `backend ${backend.name} (${backend.device}${backend.adapter ? `, adapter ${backend.adapter}` : ''}, ${backend.trainingKernels} training kernels, ${backend.threads} thread(s)); profile ${profile}; ` +
      `${jobs.length} runs${shardFlag ? ` (shard ${shardFlag} of ${planned.jobs.length})` : ''}; results in ${outDir}`,
  );
  const summary = await runJobs(jobs, {
    outDir,
    backend,
    dataDir,
    stream: io.err,
    force: p.flags.has('force'),
  });
  const others = summary.byOthers ? `, ${summary.byOthers} of them by another process on this --out` : '';
  io.out(`${summary.done} run(s) done, ${summary.skipped} skipped (finished earlier${others}), ${summary.failed.length} failed, ${formatDuration(summary.wallMs / 1000)}`);
  for (const f of summary.failed) io.out(`FAILED ${f.job}: ${f.error.split('\n')[0]}`);
  return summary.failed.length ? 1 : 0;
}

async function cmdReport(p: Parsed, all: readonly ExperimentDefinition[], io: CliIo, outDir: string, dirs?: string[]): Promise<number> {
  const from = dirs ?? (p.positional.length > 1 ? p.positional.slice(1).map((d) => resolve(d)) : [outDir]);
  const r = await writeReport({ dirs: from, outDir, experiments: all, log: io.out });
  io.out(`report: ${r.runs} runs, ${r.claims.length} claims, ${r.plots} plots`);
  for (const c of r.claims) io.out(`  ${c.experimentId}/${c.claimId}: ${c.verdictText ?? c.verdict} — ${c.measured} [${c.context}]`);
  for (const pr of r.problems) io.out(`  problem: ${pr}`);
  io.out(`wrote ${r.markdown}\nwrote ${r.html}`);
  return 0;
}

async function cmdSpeed(p: Parsed, io: CliIo, outDir: string): Promise<number> {
  const { runSpeed, formatSpeedTable, SPEED_MODELS } = await import('../speed');
  const backends = p.flags.get('backends')?.split(',').filter(Boolean);
  const steps = countFlag(p, 'steps', 100_000);
  const models = p.flags.get('models')?.split(',').filter(Boolean) as SpeedModel[] | undefined;
  const bad = models?.find((m) => !SPEED_MODELS.includes(m));
  if (bad !== undefined) throw new TrainkitError('INVALID_ARGUMENT', `--models: unknown model "${bad}"; known: ${SPEED_MODELS.join(', ')}`, '--models');
  const threads = p.flags.get('threads') ? Number(p.flags.get('threads')) : undefined;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 8)) throw new TrainkitError('INVALID_ARGUMENT', `--threads must be an integer from 1 to 8; received "${p.flags.get('threads')}"`, '--threads');
  const python = p.flags.get('python');
  const result = await runSpeed({
    ...(backends ? { backends } : {}),
    ...(steps ? { steps } : {}),
    ...(models ? { models } : {}),
    ...(threads ? { threads } : {}),
    ...(python ? { python } : {}),
    isolate: !p.flags.has('in-process'),
    log: io.out,
  });
  const table = formatSpeedTable(result);
  io.out(table);
  io.out(`saved ${saveSpeed(outDir, result, table)}`);
  return 0;
}

function cmdList(all: readonly ExperimentDefinition[], io: CliIo, settings: boolean): number {
  for (const e of all) {
    const profiles = PROFILES.filter((p) => e.profiles[p]).map((p) => {
      const s = e.profiles[p]!;
      return `${p} (${e.arms(s, p).length} arms × ${s.seeds} seeds)`;
    });
    io.out(`${e.id} — ${e.title}`);
    io.out(`  paper: ${e.paper.authors}, "${e.paper.title}" (${e.paper.year}) ${e.paper.url}`);
    for (const c of e.claims) io.out(`  claim ${c.id}: ${c.text}\n    paper: ${c.paper}`);
    io.out(`  profiles: ${profiles.join(', ')}`);
    if (!settings) continue;
    for (const name of PROFILES) {
      const s = e.profiles[name];
      if (!s) continue;
      io.out(`  settings (${name}): ${describeSettings(e, s).join('; ')}`);
      io.out(`  arms (${name}): ${e.arms(s, name).map((a) => a.id).join(', ')}`);
    }
  }
  return 0;
}

/**
 * The CLI, callable in-process (tests) or from the bin.
 *
 * @param argv - arguments after the program name
 * @param opts.experiments - @defaultValue the registry
 * @returns the exit code
 */
export async function main(argv: readonly string[], opts: { experiments?: readonly ExperimentDefinition[]; io?: CliIo } = {}): Promise<number> {
  const io: CliIo = opts.io ?? { out: (l) => process.stdout.write(`${l}\n`), err: process.stderr };
  try {
    const all = opts.experiments ?? (await import('../experiments/index')).experiments;
    const p = parseArgs(argv);
    if (p.flags.has('help')) {
      io.out(HELP);
      return 0;
    }
    const outDir = resolve(p.flags.get('out') ?? join(benchRoot(), 'results'));
    const cmd = p.positional[0];
    switch (cmd) {
      case undefined: {
        const code = await cmdRun({ positional: ['run', 'all'], flags: new Map([['profile', 'quick'], ...p.flags]), sets: p.sets }, all, io, outDir);
        const rep = await cmdReport(p, all, io, outDir, [outDir]);
        return code || rep;
      }
      case 'run':
        return await cmdRun(p, all, io, outDir);
      case 'report':
        return await cmdReport(p, all, io, outDir);
      case 'speed':
        return await cmdSpeed(p, io, outDir);
      case 'list':
        return cmdList(all, io, p.flags.has('settings'));
      case 'help':
        io.out(HELP);
        return 0;
      default:
        io.out(`unknown command "${cmd}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    io.out(e instanceof TrainkitError ? `error: ${e.message}` : `error: ${(e as Error).stack ?? String(e)}`);
    return 2;
  }
}
