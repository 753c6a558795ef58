import { serialization } from '@tensorflow/tfjs-core';
import { AdmmUnifyHook } from './admm';

/**
 * Registers {@link AdmmUnifyHook} with tfjs serialization, so a saved `HookedOptimizer` config that holds it can be
 * rebuilt (`HookedOptimizer.fromConfig`). Idempotent; call before loading. `UnifiedHook` carries a data plan and is
 * rebuilt from the plan instead (e.g. `decodeUnified(bytes).plan`).
 */
export function registerUnifySerializables(): void {
  serialization.registerClass(AdmmUnifyHook as unknown as serialization.SerializableConstructor<serialization.Serializable>);
}
