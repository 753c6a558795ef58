import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../register';

/** Test-only: loads wasm with trainkit kernels and returns to the previous backend. */
export async function initWasm(): Promise<void> {
  const prev = tf.getBackend();
  await tf.setBackend('wasm');
  await tf.ready();
  registerWasmTrainingKernels();
  await tf.setBackend(prev);
}

/**
 * Runs `fn` with a test hook (a setter that returns the previous setting) set to `value`, and restores the previous
 * setting after, also on error.
 */
export async function withHook<V, T>(set: (value: V) => V, value: V, fn: () => Promise<T>): Promise<T> {
  const prev = set(value);
  try {
    return await fn();
  } finally {
    set(prev);
  }
}

/** Runs `fn` on `backend` and returns its output values as a plain array and shape. */
export async function onBackend(
  backend: string,
  fn: () => tf.Tensor,
): Promise<{ values: Float32Array; shape: number[] }> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = fn();
    const values = (await out.data()) as Float32Array;
    const shape = out.shape.slice();
    out.dispose();
    return { values: Float32Array.from(values), shape };
  } finally {
    await tf.setBackend(prev);
  }
}
