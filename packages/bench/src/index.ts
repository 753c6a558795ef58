// The bench's building blocks, for experiment files and for apps that reuse them.
export * from './data/index';
export * from './models/index';
export { train, evaluate, measureStepMemory, crossEntropy, defaultLoss, setLearningRate, type TrainArgs, type TrainResult, type LossFn, type ProgressSink } from './train';
export * from './experiment';
export { experiments } from './experiments/index';
