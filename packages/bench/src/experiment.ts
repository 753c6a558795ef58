/**
 * The contract between the bench harness and each method's experiment file (`src/experiments/<id>.ts`).
 * The harness (CLI, data, models, trainer, results store, report) implements it; each method adds one file.
 */
import type * as tf from '@tensorflow/tfjs';

export type ProfileName = 'smoke' | 'quick' | 'standard' | 'gpu' | 'paper';

/** Per-profile settings of one experiment; `seeds` is how many seeds each arm runs (CLI `--seeds` overrides). */
export interface ProfileSettings {
  seeds: number;
  [key: string]: unknown;
}

/** One arm: a method or its baseline, with whatever it varies (e.g. batch size). */
export interface ArmSpec {
  id: string; // unique, file-name safe: [a-z0-9-]+
  label: string; // for tables and plot legends
  [key: string]: unknown;
}

/** Where the data came from; the report names it beside every number. */
export interface DataInfo {
  name: string; // e.g. 'fashion-mnist (full, /usr/share/datasets/fashion-mnist)' or 'fashion-mnist (embedded 10k/2k)'
  trainSize: number;
  testSize: number;
  /** 'full' (a complete set on disk), 'embedded' (the subset in this package), 'synthetic' or 'user'. */
  source?: string;
  /** The directory the files came from, when any. */
  dir?: string;
}

/** What the harness hands an experiment's `run` for one (arm, seed). */
export interface RunContext<P extends ProfileSettings = ProfileSettings> {
  experimentId: string;
  arm: ArmSpec;
  seed: number; // non-zero
  profile: ProfileName;
  settings: P;
  /** `adapter` names the GPU adapter (webgpu), e.g. 'nvidia hopper (NVIDIA H200)' or 'google swiftshader (…), fallback adapter'. */
  backend: { name: string; device: 'cpu' | 'gpu'; trainingKernels: string; threads: number; adapter?: string };
  /** The CLI's `--data DIR`, when given (pass it to `loadFashionMnist({ dataDir })`; `TRAINKIT_DATA` is set to it too). */
  dataDir?: string;
  /** Free-form log line (goes above the progress bar). */
  log(message: string): void;
  /** Progress of this run: `total` units (e.g. steps); `tick` advances and shows live metrics. */
  progress: { start(total: number, label?: string): void; tick(n?: number, metrics?: Record<string, number>): void };
}

/** One epoch's (or evaluation point's) metrics, e.g. { epoch: 3, trainLoss, testAcc, logitNorm }. */
export interface CurvePoint {
  epoch: number;
  [metric: string]: number;
}

/** What `run` returns; JSON-serialisable only. */
export interface RunOutput {
  /** Final scalar metrics, e.g. { testAcc: 0.91, peakBytes: 1.2e7, stepMs: 35 }. */
  metrics: Record<string, number>;
  /** Learning curves and other per-epoch series. */
  curves?: CurvePoint[];
  /** Experiment-specific JSON (e.g. a list of { p, R } points). */
  extra?: Record<string, unknown>;
  data?: DataInfo;
}

/** A stored run, as `judge` and `plots` receive them (one per arm × seed). */
export interface RunRecord extends RunOutput {
  experimentId: string;
  armId: string;
  seed: number;
  profile: ProfileName;
  backend: RunContext['backend'];
  wallMs: number;
}

export interface ClaimSpec {
  id: string;
  /** The claim in one sentence, as the report prints it. */
  text: string;
  /** The paper's number or statement, e.g. '+1.2 points on CIFAR-10 ResNet-18'. */
  paper: string;
}

export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

export interface ClaimVerdict {
  claimId: string;
  /** What we measured, e.g. '+0.8 ± 0.3 points (n=3 per arm)'. */
  measured: string;
  verdict: Verdict;
  /** The short name of the rule that decided it: a key of `RULES` (src/stats.ts) or of the experiment's own `rules`. */
  rule: string;
  /** The verdict as printed when it says more than `verdict`, e.g. 'not reproduced (effect < 1.2 points at 95%)'. */
  verdictText?: string;
  /** The smallest effect this measurement could detect (80% power, 5% two-sided), in words, e.g. '2.10 points'. */
  detectable?: string;
}

/** A Vega-Lite spec (data inlined by the experiment), rendered to SVG by the report. */
export interface PlotSpec {
  id: string;
  title: string;
  spec: Record<string, unknown>;
}

export interface ExperimentDefinition<P extends ProfileSettings = ProfileSettings> {
  id: string;
  /**
   * Bump when `run` changes what it measures: it is part of every run id, so results of the old code are not
   * mistaken for finished runs of the new one (the report keeps only the newest run per arm and seed).
   */
  version?: number;
  title: string;
  paper: { title: string; authors: string; year: number; url: string };
  claims: ClaimSpec[];
  /** Rules of this experiment's own, by short name (the report prints each once; shared ones are in `RULES`). */
  rules?: Record<string, string>;
  /** The values a string setting accepts from `--set key=value` (e.g. `{ recipe: ['bench', 'reference'] }`); others take any. */
  choices?: Record<string, readonly string[]>;
  /** Settings per profile; an absent profile means "not supported" (e.g. 'paper' without CIFAR + GPU). */
  profiles: Partial<Record<ProfileName, P>>;
  arms(settings: P, profile: ProfileName): ArmSpec[];
  run(ctx: RunContext<P>): Promise<RunOutput>;
  judge(runs: RunRecord[], settings: P): ClaimVerdict[];
  plots?(runs: RunRecord[], settings: P): PlotSpec[];
}

/** Identity with type inference; each experiment file default-exports `defineExperiment({...})`. */
export function defineExperiment<P extends ProfileSettings>(def: ExperimentDefinition<P>): ExperimentDefinition<P> {
  return def;
}

export type { tf };
