import { getGradient, getKernel, registerGradient, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { batchNormTrainingConfig, batchNormTrainingGrad, batchNormTrainingGradConfig } from './kernels/batch-norm';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './kernels/conv2d-grad';
import { batchMatMulConfig } from './kernels/batch-mat-mul';
import { castConfig, identityConfig, meanConfig, sumConfig } from './kernels/elementwise';
import { captureStock, markOurs, stockConfig } from './internal/stock';
import { maxPoolGradConfig } from './kernels/max-pool-grad';
import { tileConfig } from './kernels/tile';
import { greaterConfig, greaterEqualConfig, lessConfig, lessEqualConfig, logicalAndConfig, selectConfig } from './kernels/compare';
import {
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
} from './kernels/depthwise-grad';

/** The kernels {@link registerWasmTrainingKernels} installs for the `wasm` backend, by tfjs kernel name. */
export const wasmTrainingKernelNames: readonly string[] = [
  conv2DBackpropFilterConfig.kernelName,
  conv2DBackpropInputConfig.kernelName,
  depthwiseConv2dNativeBackpropFilterConfig.kernelName,
  depthwiseConv2dNativeBackpropInputConfig.kernelName,
  maxPoolGradConfig.kernelName,
  batchMatMulConfig.kernelName,
  sumConfig.kernelName,
  meanConfig.kernelName,
  identityConfig.kernelName,
  castConfig.kernelName,
  tileConfig.kernelName,
  batchNormTrainingConfig.kernelName,
  batchNormTrainingGradConfig.kernelName,
  greaterEqualConfig.kernelName,
  lessEqualConfig.kernelName,
  greaterConfig.kernelName,
  lessConfig.kernelName,
  logicalAndConfig.kernelName,
  selectConfig.kernelName,
];

const configs: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  castConfig,
  tileConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  greaterEqualConfig,
  lessEqualConfig,
  greaterConfig,
  lessConfig,
  logicalAndConfig,
  selectConfig,
];

/**
 * Registers trainkit's training kernels for the `wasm` backend: the conv/depthwise gradients stock
 * wasm lacks (`Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`/`Input`, tfjs#8474), a
 * faster `Conv2DBackpropInput` (each composed from wasm's XNNPACK convolutions), a one-pass
 * `MaxPoolGrad`, leading-axes `Sum`/`Mean`, block-copy `Tile`, SIMD float32 comparisons, `LogicalAnd` and `Select` (the ReLU6 / clipByValue gradient), the fused training-mode batch norm of {@link batchNormTraining} (forward and closed-form gradient), buffer-sharing `Identity`/`Cast`, and a `BatchMatMul` that keeps the transposed products of dense-layer gradients
 * on XNNPACK (stock wasm runs them in a scalar loop). Needs the stock wasm kernels registered
 * (import `@tensorflow/tfjs-backend-wasm` first): importing it afterwards re-registers its own
 * `Conv2DBackpropInput`/`MaxPoolGrad`/`BatchMatMul` over trainkit's, so call this again then.
 *
 * Idempotent; safe before or after the wasm backend is loaded (the kernels reach wasm's own kernels
 * through the global registry when they run). Replaces a stock kernel of the same name.
 *
 * @returns the kernel names now served by trainkit (nothing to dispose)
 * @example
 * ```ts
 * import { registerWasmTrainingKernels } from '@trainkit/backend';
 * registerWasmTrainingKernels();
 * ```
 */
export function registerWasmTrainingKernels(): readonly string[] {
  if (getGradient(batchNormTrainingGrad.kernelName) == null) registerGradient(batchNormTrainingGrad);
  for (const config of configs) {
    markOurs(config.kernelFunc);
    captureStock(config.kernelName);
    const existing = getKernel(config.kernelName, 'wasm');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing != null) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  return wasmTrainingKernelNames;
}

/**
 * Whether trainkit's wasm kernels are the registered ones.
 *
 * @returns true when every kernel of {@link wasmTrainingKernelNames} is trainkit's on `wasm`
 */
export function wasmTrainingKernelsRegistered(): boolean {
  return configs.every((c) => getKernel(c.kernelName, 'wasm')?.kernelFunc === c.kernelFunc);
}

/**
 * Undoes {@link registerWasmTrainingKernels}: puts wasm's own kernels back and removes the ones wasm
 * does not have (so `Conv2DBackpropFilter` is missing again). For benchmarks against stock wasm.
 *
 * @returns nothing to dispose
 */
export function unregisterWasmTrainingKernels(): void {
  for (const config of configs) {
    if (getKernel(config.kernelName, 'wasm')?.kernelFunc !== config.kernelFunc) continue;
    unregisterKernel(config.kernelName, 'wasm');
    const original = stockConfig(config.kernelName);
    if (original != null) registerKernel(original);
  }
}
