import * as tf from '@tensorflow/tfjs-core';
import { model as makeModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { TrainkitError, invalidArgument, toVariables, type ParamsArg } from '@trainkit/core';
import {
  analyseFinalHomogeneous,
  type FinalHomogeneous,
  type FinalHomogeneousOptions,
  type LayerExplanation,
} from '../internal/topology';

export type { FinalHomogeneous, FinalHomogeneousOptions, LayerExplanation };

/**
 * Finds the final homogeneous sub-network of a model: the Dense/Conv kernels between the last normalisation layer
 * (BatchNormalization / LayerNormalization) on the path to the output and the logits. With no normalisation layer the
 * whole network counts.
 *
 * @param model - a tf.LayersModel whose path to its single output is a chain (Sequential or linear functional)
 * @param opts - {@link FinalHomogeneousOptions}
 * @returns the ParamRefs (kernels only; biases and BN gamma/beta are never constrained) and a per-layer explanation;
 *   the variables stay owned by the model
 * @throws {@link TrainkitError} `UNSUPPORTED_MODEL` on a topology it cannot analyse (merges, shared or nested
 *   layers, unknown layer kinds) or on a bias / non-homogeneous activation in the sub-network; the message tells you to
 *   pass `params` yourself
 * @example
 * ```ts
 * const { params, explanation } = finalHomogeneousParams(model);
 * console.log(explanation);
 * ```
 * @remarks LAWN paper (arXiv 2108.05839): the weights of the final homogeneous sub-network set the logits' scale,
 * g(h; a_1 W_1, …, a_K W_K) = (∏ a_k) g(h; W_1, …, W_K); weights before a normalisation layer are scale-invariant.
 */
export function finalHomogeneousParams(model: LayersModel, opts: FinalHomogeneousOptions = {}): FinalHomogeneous {
  return analyseFinalHomogeneous(model, opts);
}

/** What {@link logitStats} measures on a probe batch. */
export interface LogitStats {
  /** Mean over examples of the logit vector's L2 norm. */
  meanLogitNorm: number;
  /** Mean over examples of the largest logit. */
  meanMaxLogit: number;
  /** Mean over examples of the largest softmax probability. */
  meanMaxProb: number;
  /** ∏_k ‖W_k‖_F over `opts.params`, when given (the paper's ∏ c_k once LAWN has frozen them). */
  normProduct?: number;
}

const logitModels = new WeakMap<LayersModel, (x: tf.Tensor) => tf.Tensor>();

/** A function x → logits (inference mode), seeing through a softmax output link. */
function logitsFn(m: LayersModel): (x: tf.Tensor) => tf.Tensor {
  const cached = logitModels.get(m);
  if (cached) return cached;
  if (m.outputs.length !== 1) throw new TrainkitError('UNSUPPORTED_MODEL', `logitStats needs a single-output model; this one has ${m.outputs.length}.`, 'model');
  const last = m.layers[m.layers.length - 1]!;
  const cls = last.getClassName();
  const cfg = last.getConfig();
  const act = typeof cfg['activation'] === 'string' ? cfg['activation'] : 'linear';
  let fn: (x: tf.Tensor) => tf.Tensor;
  const isSoftmaxLayer = cls === 'Softmax' || (cls === 'Activation' && (act === 'softmax' || act === 'logSoftmax'));
  if (isSoftmaxLayer || (cls === 'Dense' && (act === 'softmax' || act === 'logSoftmax'))) {
    const sub = makeModel({ inputs: m.inputs, outputs: last.input as SymbolicTensor });
    if (isSoftmaxLayer) {
      fn = (x) => sub.apply(x, { training: false }) as tf.Tensor;
    } else {
      const [kernel, bias] = last.getWeights(false).length > 0 ? last.weights.map((w) => w.read()) : [];
      fn = (x) => {
        const h = sub.apply(x, { training: false }) as tf.Tensor;
        if (h.rank !== 2) throw new TrainkitError('UNSUPPORTED_MODEL', `logitStats sees a softmax Dense on a rank-${h.rank} input; give it a model that outputs logits.`, 'model');
        const z = tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D);
        return bias ? tf.add(z, bias) : z;
      };
    }
  } else if (act === 'linear' || cls === 'Dense' || cls === 'Conv2D' || !('activation' in cfg)) {
    if (act !== 'linear') {
      throw new TrainkitError('UNSUPPORTED_MODEL', `the model's output layer "${last.name}" applies "${act}"; logitStats needs logits or a softmax output.`, 'model');
    }
    fn = (x) => m.apply(x, { training: false }) as tf.Tensor;
  } else {
    throw new TrainkitError('UNSUPPORTED_MODEL', `the model's output layer "${last.name}" applies "${act}"; logitStats needs logits or a softmax output.`, 'model');
  }
  logitModels.set(m, fn);
  return fn;
}

/**
 * Logit-growth measurements on a fixed probe batch (inference mode): mean logit L2 norm, mean max logit, mean max
 * softmax probability, and optionally ∏_k ‖W_k‖ over `opts.params`.
 *
 * @param model - a classifier whose output is logits, or whose last layer applies softmax (its input is used)
 * @param x - a probe batch (not disposed)
 * @param opts - `params`: tensors whose Frobenius norms are multiplied into `normProduct`
 * @returns plain numbers (nothing to dispose)
 * @throws {@link TrainkitError} `UNSUPPORTED_MODEL` when the logits cannot be found; `INVALID_ARGUMENT` for bad params
 * @example
 * ```ts
 * const { params } = finalHomogeneousParams(model);
 * const s = await logitStats(model, probeX, { params }); // { meanLogitNorm, meanMaxLogit, meanMaxProb, normProduct }
 * ```
 * @remarks The logit growth LAWN prevents (arXiv 2108.05839 §1): without weight decay these keep rising as the
 * training loss goes to zero.
 */
export async function logitStats(model: LayersModel, x: tf.Tensor, opts: { params?: ParamsArg } = {}): Promise<LogitStats> {
  if (!model || !Array.isArray((model as { layers?: unknown }).layers)) throw invalidArgument('model', model, 'a tf.LayersModel');
  if (!(x instanceof tf.Tensor)) throw invalidArgument('x', x, 'a tf.Tensor batch');
  const fn = logitsFn(model);
  const vars = opts.params === undefined ? [] : toVariables('params', opts.params);
  const packed = tf.tidy(() => {
    const z = fn(x);
    const z2 = tf.reshape(z, [z.shape[0]!, -1]);
    const parts = [
      tf.mean(tf.norm(z2, 'euclidean', 1)),
      tf.mean(tf.max(z2, 1)),
      tf.mean(tf.max(tf.softmax(z2), 1)),
      vars.length > 0 ? tf.prod(tf.stack(vars.map((v) => tf.norm(v)))) : tf.scalar(Number.NaN),
    ];
    return tf.stack(parts);
  });
  const [meanLogitNorm, meanMaxLogit, meanMaxProb, prod] = Array.from(await packed.data());
  packed.dispose();
  const out: LogitStats = { meanLogitNorm: meanLogitNorm!, meanMaxLogit: meanMaxLogit!, meanMaxProb: meanMaxProb! };
  if (vars.length > 0) out.normProduct = prod!;
  return out;
}
