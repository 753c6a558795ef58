// The bench's building blocks, for experiment files and for apps that reuse them.
export * from './data/index';
export * from './models/index';
export { train, evaluate, measureStepMemory, crossEntropy, defaultLoss, setLearningRate, type TrainArgs, type TrainResult, type LossFn, type ProgressSink } from './train';
export * from './experiment';
export { experiments } from './experiments/index';
export { summarize, armMetric, compareArms, verdictFromDiff, formatMeanStd, formatDiff, VERDICT_RULE, type Summary, type ArmComparison } from './stats';
export { lineChart, barWithErrors, scatter, CHART_CONFIG } from './plots';
export { planJobs, runJobs, shardJobs, parseShard, selectBackend, packageVersions, checkWritable, staleReason, PROFILES, MAX_SEEDS, type Job, type RunJobsOptions, type SweepSummary, type BenchBackend } from './runner';
export { readRuns, readRun, loadRun, validateRun, writeJsonAtomic, makeRunId, runConfig, resultPath, isFinished, type StoredRun, type RunIdentity, type LoadedRun } from './results';
export { tryLock, releaseAllLocks, pidAlive, DEFAULT_STALE_LOCK_MS, type RunLock, type LockInfo } from './lock';
export { guardProcess } from './cli/lifecycle';
export { writeReport, saveSpeed, type ReportOptions, type ReportSummary } from './reporting/index';
export { renderSvg } from './reporting/svg';
export { createProgress, type Progress } from './progress';
export { main as cliMain } from './cli/main';
