import { expect } from 'vitest';
import { tf } from '@trainkit/test-utils';

/**
 * Runs `fn` on cpu, then on webgpu (tfjs draws random numbers in JS, so seeded inputs are the same on both).
 *
 * @returns what `fn` returned on each backend (plain data: `fn` reads its tensors back with `await t.data()`)
 */
export async function onCpuAndWebgpu<T>(fn: (backend: 'cpu' | 'webgpu') => Promise<T> | T): Promise<{ cpu: T; webgpu: T }> {
  await tf.setBackend('cpu');
  const cpu = await fn('cpu');
  await tf.setBackend('webgpu');
  const webgpu = await fn('webgpu');
  return { cpu, webgpu };
}

/** Host values of tensors, read asynchronously (dataSync() does not work on webgpu in Node). */
export async function values(ts: readonly tf.Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as Float32Array)));
}

/** STYLE.md's cross-backend tolerance: |a − e| ≤ 1e-3 + 1e-3·|e| elementwise, for each pair of arrays. */
export function expectCrossBackendClose(actual: readonly ArrayLike<number>[], expected: readonly ArrayLike<number>[], what = 'values'): void {
  expect(actual.length, `${what}: count`).toBe(expected.length);
  actual.forEach((a, k) => {
    const e = expected[k]!;
    expect(a.length, `${what}[${k}]: length`).toBe(e.length);
    let worst = 0;
    for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) - (1e-3 + 1e-3 * Math.abs(e[i]!)));
    expect(worst, `${what}[${k}]: max excess over 1e-3 + 1e-3·|cpu|`).toBeLessThanOrEqual(0);
  });
}
