export {
  magnitudeMasks,
  applyMasks,
  sparsityOf,
  maskSparsity,
  disposeMasks,
  prunableParams,
  type Masks,
  type MagnitudeMaskArgs,
  type SparsityReport,
} from './mask';
export { maskHook, MaskHook, registerPruneSerializables, type MaskHookConfig } from './hook';
export { snapshot, restore, disposeSnapshot, type Snapshot } from './snapshot';
export { weightCorrelation, weightCorrelations, type CorrelationOptions, type WeightsArg } from './correlation';
export {
  iterativeMagnitudePruning,
  pruneAndFinetune,
  type TrainFn,
  type TrainContext,
  type PruneRound,
  type PruneResult,
  type ImpArgs,
  type PruneAndFinetuneArgs,
} from './drivers';
export { exportSparse, importSparse, type SparseImport } from './sparse';
export {
  constantSparsity,
  polynomialDecay,
  pruningScheduleFromConfig,
  isPruningSchedule,
  type PruningSchedule,
  type PruningScheduleConfig,
} from './schedule';
export {
  gradualPruningHook,
  gradualPruning,
  GradualPruningHook,
  type GradualPruningOptions,
  type GradualPruningConfig,
  type LayerSparsity,
} from './gradual';
export { nmMasks, blockMasks, channelMasks, randomMasks, type NmMaskArgs } from './structured';
export { bindMasks, weightKey } from './binding';
export { sparseModelHandler, type SparseModelHandler, type SparseModelHandlerArgs } from './io-handler';
