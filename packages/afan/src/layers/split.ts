import { input, model as functionalModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { TrainkitError, describeValue, invalidArgument } from '@trainkit/core';

/** What {@link splitModel} returns: two models that share the original model's layers (and so its weights). */
export interface SplitModel {
  /** The original inputs → the split layer's output. */
  front: LayersModel;
  /** The split layer's output (a new input of the same shape) → the original outputs. */
  back: LayersModel;
}

interface Graph {
  /** Every symbolic tensor on a path to the outputs, by id. */
  tensors: Map<number, SymbolicTensor>;
}

function collect(outputs: readonly SymbolicTensor[]): Graph {
  const tensors = new Map<number, SymbolicTensor>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const t = stack.pop() as SymbolicTensor;
    if (tensors.has(t.id)) continue;
    tensors.set(t.id, t);
    for (const i of t.inputs ?? []) stack.push(i);
  }
  return { tensors };
}

/**
 * Re-applies the layers between `replacements` (original tensor id → new symbolic tensor) and `outputs` to the new
 * tensors: the same layer objects (so the same weights), new inbound nodes. Each re-applied layer gains one tfjs-layers
 * reference, which the container built on the result releases when it is disposed.
 */
function rebuildGraph(outputs: readonly SymbolicTensor[], replacements: Map<number, SymbolicTensor>): SymbolicTensor[] {
  const rebuilt = new Map(replacements);
  const calls = new Map<string, SymbolicTensor | SymbolicTensor[]>();
  const rebuild = (t: SymbolicTensor): SymbolicTensor => {
    const done = rebuilt.get(t.id);
    if (done) return done;
    const layer = t.sourceLayer;
    if ((t.inputs ?? []).length === 0) {
      throw new TrainkitError('UNSUPPORTED_MODEL', `layer "${layer.name}" has no inputs to rebuild it from.`, 'model');
    }
    const key = `${layer.name}#${t.nodeIndex}`;
    let out = calls.get(key);
    if (out === undefined) {
      const ins = t.inputs.map(rebuild);
      out = layer.apply(ins.length === 1 ? (ins[0] as SymbolicTensor) : ins, t.callArgs) as SymbolicTensor | SymbolicTensor[];
      calls.set(key, out);
    }
    const one = Array.isArray(out) ? out[t.outputTensorIndex ?? t.tensorIndex] : out;
    if (one === undefined) {
      throw new TrainkitError('UNSUPPORTED_MODEL', `could not rebuild the output of layer "${layer.name}" (${describeValue(out)}).`, 'model');
    }
    rebuilt.set(t.id, one);
    return one;
  };
  return outputs.map(rebuild);
}

function isModel(value: unknown): value is LayersModel {
  const m = value as Partial<LayersModel> | null;
  return (
    typeof m === 'object' && m !== null && Array.isArray(m.layers) && Array.isArray(m.inputs) && Array.isArray(m.outputs) &&
    typeof m.apply === 'function'
  );
}

/**
 * Splits a `tf.LayersModel` after one layer into `front` (inputs → that layer's output) and `back` (that output →
 * the model's outputs). Both reuse the original layer objects, so they share its weights: training `front`/`back`
 * trains the model, and the model's own graph (used for inference and saving) is left as it was.
 *
 * @param model - a built functional or sequential `tf.LayersModel`
 * @param layerName - the layer whose output is the feature map to perturb (e.g. the last layer of a ResNet stage)
 * @returns `{front, back}`: new models made of the original layer objects. Like any tfjs-layers models sharing
 * layers, each holds a reference on its layers: a shared weight is freed once `model`, `front` and `back` have all
 * been disposed (in any order; disposing `front`/`back` leaves `model` usable).
 * @throws {@link TrainkitError} `INVALID_ARGUMENT` when `model` is not a built LayersModel or `layerName` is not one
 * of its layers; `UNSUPPORTED_MODEL` when the layer is called more than once, has several outputs, or the graph
 * does not cross the split at that one tensor (e.g. inside a residual block): the message names the layers after
 * the split that read a tensor from before it.
 * @remarks A-FAN perturbs an intermediate feature map f = h(x) and runs only g on it (Chen et al. 2021, Fig. 2);
 * the reference slices a `nn.Sequential` (`forward(x, end_point, start_point)`). Layers are re-applied to a new
 * input to build `back`; that adds inbound nodes to them, which tfjs ignores when it saves or runs the original model.
 * @example
 * ```ts
 * const { front, back } = splitModel(model, 'stage1_out');
 * ```
 */
export function splitModel(model: LayersModel, layerName: string): SplitModel {
  if (!isModel(model)) throw invalidArgument('model', model, 'a tf.LayersModel');
  if (model.inputs.length === 0 || model.outputs.length === 0) {
    throw invalidArgument('model', model, 'a built tf.LayersModel (give the first layer an inputShape)');
  }
  if (typeof layerName !== 'string' || layerName.length === 0) {
    throw invalidArgument('layerName', layerName, 'the name of one of the model’s layers');
  }
  const graph = collect(model.outputs);
  const splitTensors = [...graph.tensors.values()].filter((t) => t.sourceLayer.name === layerName);
  if (splitTensors.length === 0) {
    const names = model.layers.map((l) => l.name);
    const shown = names.length > 12 ? [...names.slice(0, 12), '…'] : names;
    throw invalidArgument('layerName', layerName, `the name of a layer the outputs depend on (${shown.join(', ')})`);
  }
  if (splitTensors.length > 1) {
    throw new TrainkitError(
      'UNSUPPORTED_MODEL',
      `layer "${layerName}" produces ${splitTensors.length} tensors in this model (it is shared or has several ` +
        'outputs); split at a layer with exactly one output tensor.',
      'layerName',
    );
  }
  const split = splitTensors[0] as SymbolicTensor;
  if (model.outputs.some((o) => o.id === split.id)) {
    throw invalidArgument('layerName', layerName, 'a layer before the output layer (back would be empty)');
  }

  // Which tensors depend on the split tensor (computed in topological order via memoised recursion).
  const dependsOnSplit = new Map<number, boolean>();
  const depends = (t: SymbolicTensor): boolean => {
    const known = dependsOnSplit.get(t.id);
    if (known !== undefined) return known;
    const value = t.id === split.id || (t.inputs ?? []).some((i) => depends(i));
    dependsOnSplit.set(t.id, value);
    return value;
  };
  const crossings: string[] = [];
  for (const o of model.outputs) {
    if (!depends(o)) crossings.push(`output "${o.sourceLayer.name}" does not depend on "${layerName}"`);
  }
  for (const t of graph.tensors.values()) {
    if (t.id === split.id || !depends(t)) continue;
    for (const i of t.inputs ?? []) {
      if (!depends(i)) crossings.push(`"${t.sourceLayer.name}" reads "${i.sourceLayer.name}"`);
    }
  }
  if (crossings.length > 0) {
    const unique = [...new Set(crossings)];
    throw new TrainkitError(
      'UNSUPPORTED_MODEL',
      `the graph does not cross layer "${layerName}" at one tensor: ${unique.join('; ')} (layers after the split ` +
        'read tensors from before it, e.g. a residual shortcut). Split at a block or stage output instead.',
      'layerName',
    );
  }

  const frontInputs = model.inputs.map((t, i) =>
    input({ shape: t.shape.slice(1) as number[], dtype: t.dtype, name: `${model.name}_front_input${i}` }),
  );
  const [frontOut] = rebuildGraph([split], new Map(model.inputs.map((t, i) => [t.id, frontInputs[i] as SymbolicTensor])));
  const front = functionalModel({
    inputs: frontInputs.length === 1 ? (frontInputs[0] as SymbolicTensor) : frontInputs,
    outputs: frontOut as SymbolicTensor,
    name: `${model.name}_front`,
  });
  const featureInput = input({ shape: split.shape.slice(1) as number[], dtype: split.dtype, name: `${model.name}_features` });
  const outputs = rebuildGraph(model.outputs, new Map([[split.id, featureInput]]));
  const back = functionalModel({
    inputs: featureInput,
    outputs: outputs.length === 1 ? (outputs[0] as SymbolicTensor) : outputs,
    name: `${model.name}_back`,
  });
  return { front, back };
}
