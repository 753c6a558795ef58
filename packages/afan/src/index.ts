export { adversarialFeatures, attackDefaults, type AttackOptions } from './attack';
export { featureStatSwap, type FeatureStatSwapOptions, type StatsAxes } from './stats';
export { afanLoss, afanDefaults, type AfanLossArgs } from './afan-loss';
export { softmaxCrossEntropy, type LossFn } from './loss';
export type { Stage } from './internal/stage';
