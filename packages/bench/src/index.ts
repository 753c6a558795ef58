// The bench's building blocks, for experiment files and for apps that reuse them.
export * from './data/index';
export * from './models/index';
export { train, evaluate, measureStepMemory, crossEntropy, defaultLoss, setLearningRate, type TrainArgs, type TrainResult, type LossFn, type ProgressSink } from './train';
export * from './experiment';
export { experiments } from './experiments/index';
export { summarize, armMetric, compareArms, verdictFromDiff, formatMeanStd, formatDiff, VERDICT_RULE, type Summary, type ArmComparison } from './stats';
export { lineChart, barWithErrors, scatter, CHART_CONFIG } from './plots';
