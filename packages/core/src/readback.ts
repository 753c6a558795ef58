import { backend, getBackend, type Tensor } from '@tensorflow/tfjs-core';

/**
 * Whether `dataSync()` works on the active backend. It does not on webgpu outside a browser (Node through Dawn):
 * tfjs reads a GPU buffer synchronously through an `OffscreenCanvas`, which Node lacks; `await t.data()` works.
 *
 * @returns false on webgpu without `OffscreenCanvas`, true elsewhere
 */
export function canReadSync(): boolean {
  return !(getBackend() === 'webgpu' && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined');
}

/**
 * Reads tensors back to the host asynchronously, so that a later `dataSync()` of the same tensors returns the cached
 * values on every backend (until a variable among them is assigned again). Call it before a synchronous API that
 * reads weights (e.g. `magnitudeMasks`) on webgpu in Node.
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
