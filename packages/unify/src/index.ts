export { blockView, toBlockShape, canonicalDims, type BlockView, type BlockArgs, type BlockShape, type BlockAxis } from './blocks';
export { assignBlocks, BlockState, type BlockStateValue } from './assign';
export { unifyProjection, blockCounts, type ProjectionArgs, type LayerPlan, type UnifyPlan } from './projection';
export {
  admmUnify,
  admmUnifyHook,
  AdmmUnifyHook,
  AdmmUnifyOptimizer,
  unifiableParams,
  type AdmmUnifyArgs,
  type AdmmResidual,
} from './admm';
export { unifiedHook, UnifiedHook, type UnifiedHookArgs } from './unified-hook';
export { compressionStats, encodeUnified, decodeUnified, type CompressionStats, type LayerStats } from './encode';
export { registerUnifySerializables } from './register';
