import * as tf from '@tensorflow/tfjs';
import { canReadSync, readBack } from '@trainkit/core';

/** What {@link hostReady} accepts: tensors, a model (its weights), a map of tensors (masks, snapshots). */
export type HostReadable = tf.Tensor | tf.LayersModel | ReadonlyMap<string, tf.Tensor> | null | undefined;

/**
 * Reads weights back to the host where `dataSync()` does not work (webgpu), so that the synchronous library
 * calls after it (mask selection, correlations, exports, projections) can read them. A no-op on other backends.
 *
 * @returns when the values are cached on the host (until a variable among them is assigned again)
 */
export async function hostReady(...items: HostReadable[]): Promise<void> {
  if (canReadSync()) return;
  const tensors: tf.Tensor[] = [];
  for (const it of items) {
    if (it == null) continue;
    if (it instanceof tf.Tensor) tensors.push(it);
    else if (it instanceof Map) tensors.push(...it.values());
    else tensors.push(...(it as tf.LayersModel).weights.map((w) => w.read()));
  }
  await readBack(tensors);
}
