import { serialization } from '@tensorflow/tfjs-core';
import { registerCoreSerializables } from '@trainkit/core';
import { LawnHook } from './hook';
import { LawnOptimizer } from './optimizer';

/**
 * Registers `LawnOptimizer` and `LawnHook` (and core's `HookedOptimizer`) with tfjs serialization. Idempotent; call it
 * before `tf.loadLayersModel` of a model saved with its optimizer, or before `LawnOptimizer.fromConfig`.
 *
 * @example
 * ```ts
 * registerLawnSerializables();
 * const model = await tf.loadLayersModel(url); // model.optimizer is a LawnOptimizer again
 * ```
 */
export function registerLawnSerializables(): void {
  registerCoreSerializables();
  serialization.registerClass(LawnOptimizer);
  serialization.registerClass(LawnHook as unknown as serialization.SerializableConstructor<serialization.Serializable>);
}
