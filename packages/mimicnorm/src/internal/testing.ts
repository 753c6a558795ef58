import type { Tensor } from '@tensorflow/tfjs-core';

/**
 * Test support (not exported): the worst |mean of a filter| / scale over all filters of a kernel, in float64, where a
 * filter is every index but the last axis (or `axes` given) and scale is the filter's max |w|.
 * @internal
 */
export function worstFilterMeanRatio(t: Tensor, axes?: number[]): number {
  const shape = t.shape;
  const rank = shape.length;
  const filterAxes = axes ?? Array.from({ length: rank - 1 }, (_, i) => i);
  const data = t.dataSync();
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const sums = new Map<number, { s: number; m: number }>();
  for (let i = 0; i < data.length; i++) {
    let key = 0;
    for (let a = 0; a < rank; a++) {
      if (filterAxes.includes(a)) continue;
      key = key * (shape[a] as number) + (Math.floor(i / (strides[a] as number)) % (shape[a] as number));
    }
    const e = sums.get(key) ?? { s: 0, m: 0 };
    const v = data[i] as number;
    e.s += v;
    e.m = Math.max(e.m, Math.abs(v));
    sums.set(key, e);
  }
  const n = filterAxes.reduce((p, a) => p * (shape[a] as number), 1);
  let worst = 0;
  for (const { s, m } of sums.values()) worst = Math.max(worst, m === 0 ? 0 : Math.abs(s / n) / m);
  return worst;
}
