import { serialization } from '@tensorflow/tfjs-core';
import { registerMimicNormHook } from '../hook';
import { LastBatchNorm } from './last-batch-norm';
import { ResidualScale } from './residual-scale';

export { ResidualScale, residualScale, type ResidualScaleArgs } from './residual-scale';
export { LastBatchNorm, lastBatchNorm, type LastBatchNormArgs } from './last-batch-norm';

/**
 * Registers every MimicNorm class with tfjs serialization: the `ResidualScale` and `LastBatchNorm` layers, the
 * `MimicNormHook` and core's `HookedOptimizer`. Idempotent; call it before `tf.loadLayersModel`.
 *
 * @example
 * ```ts
 * registerMimicNormSerializables();
 * const model = await tf.loadLayersModel('file://./model/model.json');
 * ```
 */
export function registerMimicNormSerializables(): void {
  serialization.registerClass(ResidualScale);
  serialization.registerClass(LastBatchNorm);
  registerMimicNormHook();
}
