import { getKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';

const stock = new Map<string, KernelFunc>();
const stockConfigs = new Map<string, KernelConfig>();
const ours = new Set<KernelFunc>();

/**
 * Remembers wasm's own kernel `name` before trainkit replaces it (trainkit's kernels fall back to it).
 *
 * @internal
 */
export function captureStock(name: string): void {
  const config = getKernel(name, 'wasm');
  const current = config?.kernelFunc;
  if (config != null && current != null && !ours.has(current)) {
    stock.set(name, current);
    stockConfigs.set(name, config);
  }
}

/** wasm's own kernel config for `name`, if it had one. @internal */
export function stockConfig(name: string): KernelConfig | undefined {
  return stockConfigs.get(name);
}

/** Marks a kernel function as trainkit's (never captured as stock). @internal */
export function markOurs(fn: KernelFunc): KernelFunc {
  ours.add(fn);
  return fn;
}

/** wasm's own kernel `name`, captured at registration. @internal */
export function stockKernel(name: string): KernelFunc {
  const fn = stock.get(name);
  if (fn == null) throw new Error(`@trainkit/backend: the stock wasm ${name} kernel was not captured; call registerWasmTrainingKernels() after loading the wasm backend`);
  return fn;
}
