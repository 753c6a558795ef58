import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, fusedBatchNormActive } from '@trainkit/backend';

type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;

/** tfjs-layers' own BatchNormalization class (the layers API exports only its factory). */
const StockBatchNormalization = (tf.serialization.SerializationMap.getMap().classNameMap['BatchNormalization'] as [unknown, unknown])[0] as typeof tf.layers.Layer;

/** The fields of tfjs-layers' BatchNormalization that the training path reads. */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * tfjs-layers' BatchNormalization (same class name, weights and config, so saved models are plain Keras BN) whose
 * training call runs trainkit's fused batch-norm kernel when it is active (wasm with trainkit's kernels,
 * channels-last, centre and scale on); otherwise, and in inference, it is the stock layer.
 */
class FusedTrainingBatchNormalization extends StockBatchNormalization {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs;
    const f = this as unknown as BatchNormFields;
    const axis = f.axis >= 0 ? f.axis : f.axis + x.rank;
    if (kwargs['training'] !== true || !fusedBatchNormActive() || axis !== x.rank - 1 || !f.center || !f.scale || x.dtype !== 'float32' || x.rank < 2) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, f.gamma.read(), f.beta.read(), f.epsilon);
      // Keras' moving averages exactly as tf.layers updates them: v ← v − (v − batch)·(1 − momentum).
      const decay = 1 - f.momentum;
      for (const [v, batch] of [
        [f.movingMean, mean],
        [f.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), decay)));
        });
      }
      return y;
    });
  }
}

/**
 * `tf.layers.batchNormalization` for the bench models: the same layer, trained through trainkit's fused
 * batch-norm kernel on wasm (one statistics pass and one normalise pass forward, a closed-form two-pass gradient)
 * instead of tf.moments + tf.batchNorm and their composed gradients.
 *
 * @param args - the arguments of `tf.layers.batchNormalization`
 * @returns the layer
 */
export function batchNormalization(args: BatchNormArgs = {}): tf.layers.Layer {
  return new (FusedTrainingBatchNormalization as unknown as new (a: BatchNormArgs) => tf.layers.Layer)(args);
}
