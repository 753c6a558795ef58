import { serialization, tidy, type DataType, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { TrainkitError, checkSeed, deriveSeed, invalidArgument, paramsOf, type ParamFilter } from '@trainkit/core';
import { applyMasks, type Masks } from '../mask';

/** The parts of a tfjs-layers Initializer used here. */
interface Initializer {
  apply(shape: number[], dtype?: DataType): Tensor;
  getConfig(): serialization.ConfigDict;
  getClassName(): string;
}

/** Options of {@link randomReinit}. */
export interface RandomReinitOptions {
  /** Which variables to redraw (core `ParamFilter`); default: every variable of the model, BatchNorm statistics included. */
  filter?: ParamFilter;
  /** Masks to apply after the redraw (the "random re-init with the same mask" arm). */
  masks?: Masks;
}

/** `kernel` → `kernelInitializer`, `depthwise_kernel` → `depthwiseInitializer`, `moving_mean` → `movingMeanInitializer`. */
function initializerProperty(weightName: string): string {
  if (weightName === 'depthwise_kernel') return 'depthwiseInitializer';
  const camel = weightName.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return `${camel}Initializer`;
}

/**
 * Redraws weights from each layer's own initialiser with new seeds: θ0' of the paper's random re-initialisation arm
 * (open_lth `randomly_reinitialize`), so θ0' has θ0's distribution but is a fresh draw.
 *
 * @param model - a tf.LayersModel whose layers keep their initialisers (Dense, Conv2D, DepthwiseConv2D, SeparableConv2D,
 *   BatchNormalization, …: any layer with `<weight>Initializer` fields)
 * @param seed - non-zero integer; each variable gets `deriveSeed(seed, variableName)`
 * @param opts - {@link RandomReinitOptions}
 * @throws {@link TrainkitError} `UNSUPPORTED_MODEL` when a selected weight's layer has no initialiser for it; bad seed
 * @remarks Seeded initialisers (VarianceScaling/Glorot/He, RandomNormal, RandomUniform, TruncatedNormal) are rebuilt
 *   from their config with the new seed; constant ones (Zeros, Ones, Constant) just rewrite their value.
 * @example
 * ```ts
 * randomReinit(model, 7, { masks });
 * ```
 */
export function randomReinit(model: LayersModel, seed: number, opts: RandomReinitOptions = {}): void {
  checkSeed(seed);
  if (!model || !Array.isArray((model as { layers?: unknown }).layers)) {
    throw invalidArgument('model', model, 'a tf.LayersModel');
  }
  const wanted = new Set(paramsOf(model, opts.filter).map((p) => p.name));
  const plan: Array<{ variableName: string; write: (t: Tensor) => void; shape: number[]; dtype: string; init: Initializer }> = [];
  const visit = (layer: LayersModel['layers'][number]): void => {
    const inner = (layer as unknown as { layers?: LayersModel['layers'] }).layers;
    if (Array.isArray(inner) && inner.length > 0) {
      for (const l of inner) visit(l);
      return;
    }
    for (const w of layer.weights) {
      const variable = w.read() as Variable;
      if (!wanted.has(variable.name)) continue;
      wanted.delete(variable.name);
      const short = w.originalName.split('/').pop() ?? '';
      const init = (layer as unknown as Record<string, unknown>)[initializerProperty(short)] as Initializer | undefined;
      if (!init || typeof init.apply !== 'function') {
        throw new TrainkitError(
          'UNSUPPORTED_MODEL',
          `layer "${layer.name}" (${layer.getClassName()}) has no initialiser for weight "${short}"; exclude it with opts.filter.`,
          'model',
        );
      }
      plan.push({ variableName: variable.name, write: (t) => w.write(t), shape: w.shape as number[], dtype: w.dtype, init: reseeded(init, deriveSeed(seed, variable.name)) });
    }
  };
  for (const l of model.layers) visit(l);
  for (const p of plan) {
    tidy(() => p.write(p.init.apply(p.shape, p.dtype as DataType)));
  }
  if (opts.masks) applyMasks(model, opts.masks);
}

function reseeded(init: Initializer, seed: number): Initializer {
  const config = init.getConfig();
  if (!('seed' in config)) return init;
  const className = init.getClassName();
  const entry = serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) return init;
  const [cls, fromConfig] = entry;
  return fromConfig(cls, { ...config, seed }) as unknown as Initializer;
}
