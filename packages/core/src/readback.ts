import { backend, getBackend, type Tensor } from '@tensorflow/tfjs-core';

/**
 * Whether library code may read values with `dataSync()` on the active backend: false on webgpu, true elsewhere.
 * tfjs-webgpu reads a GPU buffer synchronously by copying it through `OffscreenCanvas`es: Node has none (it throws), and
 * in headless Chromium on SwiftShader a read of ~1000 values or more returns zeros and destroys the device. Where this
 * is false the libraries read with `await t.data()` (or ask the caller to run {@link readBack} first).
 *
 * @returns false on webgpu (in Node and in browsers), true elsewhere
 */
export function canReadSync(): boolean {
  return getBackend() !== 'webgpu';
}

/**
 * Reads tensors back to the host asynchronously, so that a later `dataSync()` of the same tensors returns the cached
 * values on every backend (until a variable among them is assigned again). Call it before a synchronous API that
 * reads weights (e.g. `magnitudeMasks`) on webgpu.
 *
 * @param tensors - tensors or variables; none is disposed
 * @returns when every value is on the host
 */
export async function readBack(tensors: readonly Tensor[]): Promise<void> {
  if (!canReadSync()) {
    // webgpu drops a tensor's host copy when it first uploads it (e.g. freshly initialised weights at their first
    // forward pass): upload now, so that the copy read below stays valid.
    const upload = (backend() as { uploadToGPU?: (dataId: object) => void }).uploadToGPU;
    if (typeof upload === 'function') for (const t of tensors) if (!t.isDisposed) upload.call(backend(), t.dataId);
  }
  await Promise.all(tensors.map((t) => t.data()));
}
