import { clone, ones, tidy, zeros, type Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { invalidArgument } from '@trainkit/core';

/** The parts of a tfjs-layers BatchNormalization layer used here. */
interface BatchNormLike {
  momentum: number;
  getClassName(): string;
  weights: Array<{ originalName: string; read(): Tensor; write(t: Tensor): void }>;
}

interface LayerTree {
  getClassName(): string;
  layers?: LayerTree[];
}

function batchNormLayers(model: LayerTree): BatchNormLike[] {
  const out: BatchNormLike[] = [];
  const visit = (l: LayerTree): void => {
    if (Array.isArray(l.layers) && l.layers.length > 0) l.layers.forEach(visit);
    else if (l.getClassName() === 'BatchNormalization' && !out.includes(l as unknown as BatchNormLike)) out.push(l as unknown as BatchNormLike);
  };
  (model.layers ?? []).forEach(visit);
  return out;
}

const stat = (l: BatchNormLike, name: 'moving_mean' | 'moving_variance') => l.weights.find((w) => w.originalName.endsWith(`/${name}`) || w.originalName === name);

/**
 * Recomputes every BatchNorm layer's moving mean and variance from data, as torch `swa_utils.update_bn` does for an
 * averaged model: the statistics are reset, then each batch runs forward in training mode and the moving statistics
 * become the equal-weight (cumulative) average of the batches' statistics.
 *
 * @param model - a tf.LayersModel (e.g. `teacher.model` of an {@link EmaTeacher} with `averaging: 'swa'`); modified in place
 * @param batches - the input batches (a tensor, or an array of tensors for a multi-input model); not disposed
 * @returns the number of batches used
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `batches` is empty or holds a non-tensor. A forward pass that
 *   throws restores the previous statistics and momenta.
 * @remarks Momentum: torch sets each BN's `momentum = None` (cumulative average) for the pass. tfjs has no such mode, so
 *   the k-th batch runs with `momentum = 1 − 1/k` (new = old − (old − batch)·(1/k)), which is the same cumulative
 *   average; every layer's own momentum is restored afterwards. Variance: tfjs' BatchNormalization tracks the biased
 *   batch variance (divide by n), torch the unbiased one (n − 1); this follows tfjs, whose inference uses it. Other
 *   layers also run in training mode (dropout is active), as in torch. A model without BN is left as it is.
 * @example
 * ```ts
 * updateBatchNorm(teacher.model, trainBatches); // after SWA, before evaluating the averaged model
 * ```
 */
export function updateBatchNorm(model: LayersModel, batches: Iterable<Tensor | Tensor[]>): number {
  if (!model || !Array.isArray((model as LayersModel).layers) || typeof model.apply !== 'function') throw invalidArgument('model', model, 'a tf.LayersModel');
  if (batches === null || typeof batches !== 'object' || typeof (batches as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalidArgument('batches', batches, 'an iterable of input tensors (or arrays of tensors)');
  }
  const list = Array.from(batches);
  if (list.length === 0) throw invalidArgument('batches', batches, 'at least one batch');
  const isTensor = (t: unknown): boolean => typeof t === 'object' && t !== null && Array.isArray((t as Tensor).shape) && typeof (t as Tensor).dataId === 'object';
  list.forEach((b, i) => {
    if (Array.isArray(b) ? b.length === 0 || !b.every(isTensor) : !isTensor(b)) throw invalidArgument(`batches[${i}]`, b, 'a tensor or a non-empty array of tensors');
  });
  const layers = batchNormLayers(model as unknown as LayerTree);
  if (layers.length === 0) return 0;
  const momenta = layers.map((l) => l.momentum);
  const stats = layers.flatMap((l) => [stat(l, 'moving_mean'), stat(l, 'moving_variance')]).filter((w) => w !== undefined);
  const saved = stats.map((w) => clone(w.read()));
  try {
    tidy(() => {
      for (const w of stats) w.write(w.originalName.endsWith('moving_mean') ? zeros(w.read().shape) : ones(w.read().shape));
    });
    list.forEach((b, k) => {
      for (const l of layers) l.momentum = 1 - 1 / (k + 1);
      tidy(() => {
        model.apply(b, { training: true });
      });
    });
  } catch (err) {
    tidy(() => stats.forEach((w, i) => w.write(saved[i] as Tensor)));
    throw err;
  } finally {
    layers.forEach((l, i) => (l.momentum = momenta[i] as number));
    saved.forEach((t) => t.dispose());
  }
  return list.length;
}
