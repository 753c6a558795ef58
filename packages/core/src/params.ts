import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { invalidArgument } from './errors';

/** What kind of layer a parameter belongs to. */
export type LayerKind = 'conv2d' | 'depthwiseConv2d' | 'dense' | 'batchNorm' | 'other';
/** What a parameter is inside its layer. */
export type ParamRole = 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance' | 'other';

/** A model variable with the facts methods select on. */
export interface ParamRef {
  /** The tf.Variable itself (gradients are keyed by `variable.name`). */
  readonly variable: Variable;
  /** `variable.name`, unique in the engine. */
  readonly name: string;
  /** The owning layer's name. */
  readonly layerName: string;
  /** The owning layer's tfjs class name, e.g. `Conv2D`. */
  readonly layerClass: string;
  readonly kind: LayerKind;
  readonly role: ParamRole;
  readonly trainable: boolean;
}

/** The parts of a tfjs-layers model that {@link paramsOf} reads (so core needs no tfjs-layers import). */
export interface LayersModelLike {
  readonly layers: readonly LayerLike[];
}
/** The parts of a tfjs-layers Layer that {@link paramsOf} reads. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  readonly weights: ReadonlyArray<{ readonly originalName: string; readonly trainable: boolean; read(): Tensor }>;
  readonly layers?: readonly LayerLike[];
}

/** Selects params: a predicate, or fields that must match (arrays mean "any of"). */
export type ParamFilter =
  | ((p: ParamRef) => boolean)
  | { kinds?: LayerKind[]; roles?: ParamRole[]; trainable?: boolean; layerNames?: string[] };

const KIND_BY_CLASS: Record<string, LayerKind> = {
  Conv2D: 'conv2d',
  DepthwiseConv2D: 'depthwiseConv2d',
  Dense: 'dense',
  BatchNormalization: 'batchNorm',
};

const ROLE_BY_SUFFIX: Record<string, ParamRole> = {
  kernel: 'kernel',
  depthwise_kernel: 'kernel',
  bias: 'bias',
  gamma: 'gamma',
  beta: 'beta',
  moving_mean: 'movingMean',
  moving_variance: 'movingVariance',
};

/**
 * Lists a model's variables (trainable and not) in layer order, with their layer kind and role.
 *
 * @param model - a tf.LayersModel (nested models are walked; shared layers appear once)
 * @param filter - optional {@link ParamFilter}
 * @returns ParamRefs; the variables stay owned by the model
 * @throws {@link TrainkitError} when `model` has no `layers`
 * @example
 * ```ts
 * const kernels = paramsOf(model, { roles: ['kernel'], kinds: ['conv2d', 'dense'] });
 * ```
 */
export function paramsOf(model: LayersModelLike, filter?: ParamFilter): ParamRef[] {
  if (!model || !Array.isArray(model.layers)) {
    throw invalidArgument('model', model, 'a tf.LayersModel (an object with a layers array)');
  }
  const out: ParamRef[] = [];
  const seen = new Set<string>();
  const visit = (layer: LayerLike): void => {
    if (Array.isArray(layer.layers) && layer.layers.length > 0) {
      for (const l of layer.layers) visit(l);
      return;
    }
    const layerClass = layer.getClassName();
    const kind = KIND_BY_CLASS[layerClass] ?? 'other';
    for (const w of layer.weights) {
      const variable = w.read() as Variable; // LayerVariable.read() returns its tf.Variable
      if (seen.has(variable.name)) continue;
      seen.add(variable.name);
      const suffix = w.originalName.split('/').pop() ?? '';
      out.push({
        variable,
        name: variable.name,
        layerName: layer.name,
        layerClass,
        kind,
        role: ROLE_BY_SUFFIX[suffix] ?? 'other',
        trainable: w.trainable,
      });
    }
  };
  for (const l of model.layers) visit(l);
  return filter === undefined ? out : out.filter(toPredicate(filter));
}

function toPredicate(filter: ParamFilter): (p: ParamRef) => boolean {
  if (typeof filter === 'function') return filter;
  if (typeof filter !== 'object' || filter === null) {
    throw invalidArgument('filter', filter, 'a predicate or {kinds?, roles?, trainable?, layerNames?}');
  }
  return (p) =>
    (filter.kinds === undefined || filter.kinds.includes(p.kind)) &&
    (filter.roles === undefined || filter.roles.includes(p.role)) &&
    (filter.trainable === undefined || filter.trainable === p.trainable) &&
    (filter.layerNames === undefined || filter.layerNames.includes(p.layerName));
}

/** True if `value` is a ParamRef (rather than a bare tf.Variable). */
export function isParamRef(value: unknown): value is ParamRef {
  return typeof value === 'object' && value !== null && 'variable' in value && 'role' in value && 'layerName' in value;
}
