/**
 * Finds the final homogeneous sub-network of a tfjs-layers model by walking back from its output.
 * Duck-typed on tfjs-layers objects, so the main entry needs no tfjs-layers import.
 */
import { TrainkitError, paramsOf, type LayersModelLike, type ParamRef } from '@trainkit/core';

/** Why one layer is in or out of the constrained set. */
export interface LayerExplanation {
  /** The layer's name. */
  readonly layerName: string;
  /** Its tfjs class name. */
  readonly layerClass: string;
  /** True when (some of) its weights are in the constrained set. */
  readonly included: boolean;
  /** One sentence saying why. */
  readonly reason: string;
}

/** What {@link finalHomogeneousParams} returns. */
export interface FinalHomogeneous {
  /** The constrained parameters (kernels only), in layer order; the model owns the variables. */
  readonly params: ParamRef[];
  /** One entry per layer of the model, in the model's layer order. */
  readonly layers: LayerExplanation[];
  /** The normalisation layer the sub-network starts after, or null when the whole net is homogeneous. */
  readonly boundary: string | null;
  /** `layers` as readable text, one line per layer. */
  readonly explanation: string;
}

/** Options of {@link finalHomogeneousParams}. */
export interface FinalHomogeneousOptions {
  /**
   * Accept layers that break exact homogeneity (biases, non-homogeneous activations) instead of throwing; their
   * kernels are still constrained and the explanation says the bound is then only approximate.
   * @defaultValue false
   */
  readonly allowNonHomogeneous?: boolean;
}

interface NodeLike {
  readonly inboundLayers: LayerWalk[];
}
interface LayerWalk {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  readonly inboundNodes?: NodeLike[];
  readonly layers?: unknown[];
  readonly weights: ReadonlyArray<unknown>;
}
interface ModelWalk {
  readonly name?: string;
  readonly layers: LayerWalk[];
  readonly outputLayers?: LayerWalk[];
}

const KERNEL_LAYERS = new Set([
  'Dense',
  'Conv1D',
  'Conv2D',
  'Conv3D',
  'Conv2DTranspose',
  'Conv3DTranspose',
  'DepthwiseConv2D',
  'SeparableConv2D',
]);
const NORM_LAYERS = new Set(['BatchNormalization', 'LayerNormalization']);
const PASS_THROUGH: Record<string, string> = {
  Flatten: 'reshape',
  Reshape: 'reshape',
  Permute: 'reshape',
  RepeatVector: 'copy',
  Dropout: 'dropout (linear at inference)',
  SpatialDropout1D: 'dropout (linear at inference)',
  MaxPooling1D: 'max pooling',
  MaxPooling2D: 'max pooling',
  MaxPooling3D: 'max pooling',
  AveragePooling1D: 'average pooling',
  AveragePooling2D: 'average pooling',
  AveragePooling3D: 'average pooling',
  GlobalMaxPooling1D: 'max pooling',
  GlobalMaxPooling2D: 'max pooling',
  GlobalAveragePooling1D: 'average pooling',
  GlobalAveragePooling2D: 'average pooling',
  ZeroPadding2D: 'zero padding',
  Cropping2D: 'cropping',
  UpSampling2D: 'nearest-neighbour upsampling',
  LeakyReLU: 'LeakyReLU',
  PReLU: 'PReLU (its slopes are not constrained)',
};
const HOMOGENEOUS_ACTIVATIONS = new Set(['linear', 'relu']);
const SOFTMAX = new Set(['softmax', 'logSoftmax']);

function unsupported(msg: string): TrainkitError {
  return new TrainkitError(
    'UNSUPPORTED_MODEL',
    `${msg} LAWN cannot pick the final homogeneous sub-network of this model automatically; pass the tensors to constrain yourself, e.g. params: paramsOf(model, { layerNames: ['head'], roles: ['kernel'] }).`,
    'params',
  );
}

/** The one layer that feeds `layer`, or null for an input. */
function previous(layer: LayerWalk): LayerWalk | null {
  const nodes = layer.inboundNodes ?? [];
  if (nodes.length !== 1) {
    throw unsupported(`layer "${layer.name}" (${layer.getClassName()}) is called ${nodes.length} times (a shared layer).`);
  }
  const inbound = nodes[0]!.inboundLayers;
  if (inbound.length === 0) return null;
  if (inbound.length > 1) {
    throw unsupported(
      `layer "${layer.name}" (${layer.getClassName()}) merges ${inbound.length} inputs (${inbound.map((l) => l.name).join(', ')}), and only chains are analysed.`,
    );
  }
  return inbound[0]!;
}

function activationOf(cfg: Record<string, unknown>): string {
  const a = cfg['activation'];
  return typeof a === 'string' ? a : a == null ? 'linear' : String((a as { className?: string }).className ?? a);
}

/**
 * The constrained set for a model: kernels of every Dense/Conv layer after the last normalisation layer on the path
 * to the output (spec §2.1–2.2). See {@link FinalHomogeneous}.
 *
 * @internal shared by the main entry (`lawnHook({ params: model })`) and `./layers`.
 */
export function analyseFinalHomogeneous(model: LayersModelLike, opts: FinalHomogeneousOptions = {}): FinalHomogeneous {
  const m = model as unknown as ModelWalk;
  if (!m || !Array.isArray(m.layers) || m.layers.length === 0) {
    throw new TrainkitError('INVALID_ARGUMENT', 'model must be a tf.LayersModel with at least one layer.', 'model');
  }
  const allow = opts.allowNonHomogeneous === true;
  const outputs = m.outputLayers && m.outputLayers.length > 0 ? m.outputLayers : [m.layers[m.layers.length - 1]!];
  if (outputs.length !== 1) throw unsupported(`the model has ${outputs.length} outputs.`);
  const output = outputs[0]!;

  const reasons = new Map<string, { included: boolean; reason: string }>();
  const included: string[] = [];
  const approx: string[] = [];
  let boundary: string | null = null;
  const seen = new Set<string>();
  let layer: LayerWalk | null = output;
  while (layer !== null) {
    if (seen.has(layer.name)) throw unsupported(`the graph loops at layer "${layer.name}".`);
    seen.add(layer.name);
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const isOutput = layer === output;
    if (cls === 'InputLayer') break;
    if (NORM_LAYERS.has(cls)) {
      boundary = layer.name;
      reasons.set(layer.name, {
        included: false,
        reason: `last normalisation layer on the path to the output: the sub-network starts after it (its gamma/beta are not constrained).`,
      });
      break;
    }
    if (Array.isArray(layer.layers)) throw unsupported(`layer "${layer.name}" is a nested model (${cls}).`);
    if (KERNEL_LAYERS.has(cls)) {
      const act = activationOf(cfg);
      const problems: string[] = [];
      if (cfg['useBias'] !== false) problems.push('it has a bias');
      let note = '';
      if (!HOMOGENEOUS_ACTIVATIONS.has(act)) {
        if (isOutput && SOFTMAX.has(act)) note = ` (its ${act} is the output link; the logits are its input)`;
        else problems.push(`its activation "${act}" is not positively homogeneous`);
      }
      if (problems.length > 0 && !allow) {
        throw unsupported(
          `layer "${layer.name}" (${cls}) breaks homogeneity between the last normalisation layer and the logits: ${problems.join(' and ')}; use useBias: false / a ReLU, or pass { allowNonHomogeneous: true } to finalHomogeneousParams.`,
        );
      }
      if (problems.length > 0) approx.push(layer.name);
      included.push(layer.name);
      reasons.set(layer.name, {
        included: true,
        reason:
          problems.length > 0
            ? `kernel constrained, but ${problems.join(' and ')}, so the logit bound is only approximate (allowNonHomogeneous).`
            : `bias-free ${cls} with ${act === 'linear' || SOFTMAX.has(act) ? 'linear' : act} output${note}: scaling its kernel scales the logits.`,
      });
    } else if (cls === 'Activation' || cls === 'Softmax' || cls === 'ReLU' || cls === 'ThresholdedReLU' || cls === 'ELU') {
      const act = cls === 'Activation' ? activationOf(cfg) : cls === 'Softmax' ? 'softmax' : cls;
      const homogeneous =
        HOMOGENEOUS_ACTIVATIONS.has(act) || (cls === 'ReLU' && (cfg['maxValue'] === undefined || cfg['maxValue'] === null));
      if (homogeneous) {
        reasons.set(layer.name, { included: false, reason: `${act === 'ReLU' ? 'relu' : act} activation: positively homogeneous, no weights.` });
      } else if (isOutput && SOFTMAX.has(act)) {
        reasons.set(layer.name, { included: false, reason: `${act} output link: the logits are its input.` });
      } else if (allow) {
        approx.push(layer.name);
        reasons.set(layer.name, { included: false, reason: `${act} is not positively homogeneous; accepted (allowNonHomogeneous), so the logit bound is approximate.` });
      } else {
        throw unsupported(
          `layer "${layer.name}" (${cls} ${act}) is not positively homogeneous and sits between the last normalisation layer and the logits; pass { allowNonHomogeneous: true } to finalHomogeneousParams to accept it.`,
        );
      }
    } else if (cls in PASS_THROUGH) {
      reasons.set(layer.name, { included: false, reason: `${PASS_THROUGH[cls]}: positively homogeneous${cls === 'PReLU' ? '' : ', no weights'}.` });
    } else {
      throw unsupported(`layer "${layer.name}" (${cls}) is not a layer kind LAWN knows to be homogeneous or normalising.`);
    }
    layer = previous(layer);
  }
  if (included.length === 0) {
    throw unsupported(
      `no Dense/Conv layer lies between ${boundary === null ? 'the input' : `the last normalisation layer "${boundary}"`} and the output.`,
    );
  }
  const keep = new Set(included);
  const params = paramsOf(model, (p) => keep.has(p.layerName) && p.role !== 'bias' && p.trainable);
  const layers: LayerExplanation[] = m.layers.map((l) => {
    const r = reasons.get(l.name);
    if (r) return { layerName: l.name, layerClass: l.getClassName(), ...r };
    const why =
      boundary === null
        ? 'not on the path to the output.'
        : `before the last normalisation layer "${boundary}": its scale cannot change the logits' magnitude.`;
    return { layerName: l.name, layerClass: l.getClassName(), included: false, reason: why };
  });
  const head =
    boundary === null
      ? 'No normalisation layer on the path to the output: the network is homogeneous end to end, so every kernel is constrained.'
      : `Final homogeneous sub-network: the layers after "${boundary}".`;
  const explanation = [head, ...layers.map((l) => `${l.included ? 'IN ' : 'out'} ${l.layerName} (${l.layerClass}): ${l.reason}`)].join('\n');
  return { params, layers, boundary, explanation };
}
