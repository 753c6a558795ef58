import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './kernels/conv2d-grad';
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
];

const configs: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  depthwiseConv2dNativeBackpropInputConfig,
];

/**
 * Registers trainkit's training kernels for the `wasm` backend: the conv/depthwise gradients stock
 * wasm lacks (`Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`/`Input`, tfjs#8474) and a
 * faster `Conv2DBackpropInput`, each composed from wasm's XNNPACK convolutions.
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
  for (const config of configs) {
    const existing = getKernel(config.kernelName, 'wasm');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing != null) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  return wasmTrainingKernelNames;
}

/** True when every trainkit wasm kernel is the one registered. */
export function wasmTrainingKernelsRegistered(): boolean {
  return configs.every((c) => getKernel(c.kernelName, 'wasm')?.kernelFunc === c.kernelFunc);
}
