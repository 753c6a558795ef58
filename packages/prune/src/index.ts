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
