import { describe, expect, it } from 'vitest';
import { seededData, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError, withHooks } from '@trainkit/core';
import { disposeMasks, type Masks } from './mask';
import { maskHook } from './hook';
import { blockMasks, channelMasks, nmMasks, randomMasks } from './structured';

const flat = (masks: Masks, v: tf.Variable): number[] => Array.from((masks.get(v.name) as tf.Tensor).dataSync());
const zeros = (a: ArrayLike<number>): number => Array.from(a).filter((x) => x === 0).length;

describe('nmMasks', () => {
  it('keeps exactly the n largest |w| of every m consecutive weights along the input axis (dense and conv)', () => {
    const dense = seededVariable(3, [8, 3]); // groups run down axis 0 (inputs) for each output column
    const conv = seededVariable(4, [2, 2, 4, 2]); // groups along axis 2 (input channels)
    const masks = nmMasks([dense, conv], { n: 2, m: 4 });
    // Reference: for every group, the kept set = the 2 largest |w| (float64, no ties with random values).
    const check = (v: tf.Variable, axis: number): void => {
      const w = Array.from(v.dataSync());
      const m = flat(masks, v);
      const shape = v.shape;
      const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const len = shape[axis] as number;
      const outer = w.length / (len * stride);
      for (let o = 0; o < outer; o++) {
        for (let inner = 0; inner < stride; inner++) {
          for (let g = 0; g < len; g += 4) {
            const idx = [0, 1, 2, 3].map((k) => o * len * stride + (g + k) * stride + inner);
            const top2 = [...idx].sort((i, j) => Math.abs(w[j] as number) - Math.abs(w[i] as number)).slice(0, 2).sort();
            expect(idx.filter((i) => m[i] === 1).sort()).toEqual(top2);
          }
        }
      }
    };
    check(dense, 0);
    check(conv, 2);
    expect(zeros(flat(masks, dense))).toBe(12);
    disposeMasks(masks);
    const last = nmMasks([dense], { n: 1, m: 3, axis: -1 });
    expect(zeros(flat(last, dense))).toBe(16); // 8 rows × (3 − 1)
    disposeMasks(last);
    dense.dispose();
    conv.dispose();
  });

  it('rejects n > m, n < 1 and an axis that m does not divide', () => {
    const v = seededVariable(5, [6, 2]);
    expect(() => nmMasks([v], { n: 3, m: 2 })).toThrow(/n must be an integer <= m \(2\)/);
    expect(() => nmMasks([v], { n: 0, m: 2 })).toThrow(TrainkitError);
    expect(() => nmMasks([v], { n: 2, m: 4 })).toThrow(/m must divide the length \(6\)/);
    expect(() => nmMasks([v], { n: 1, m: 2, axis: 2 })).toThrow(/axis/);
    v.dispose();
  });
});

describe('blockMasks', () => {
  it('prunes round(s·blocks) whole blocks with the lowest mean |w|', () => {
    const v = seededVariable(6, [4, 6]);
    const masks = blockMasks([v], { blockShape: [2, 3], sparsity: 0.5 }); // 2×2 grid of 2×3 blocks → 2 pruned
    const w = Array.from(v.dataSync());
    const m = flat(masks, v);
    const score = [0, 0, 0, 0];
    const blockOf = (i: number): number => Math.floor(Math.floor(i / 6) / 2) * 2 + Math.floor((i % 6) / 3);
    w.forEach((x, i) => (score[blockOf(i)] = (score[blockOf(i)] as number) + Math.abs(x) / 6));
    const pruned = [0, 1, 2, 3].sort((a, b) => (score[a] as number) - (score[b] as number)).slice(0, 2);
    m.forEach((x, i) => expect(x).toBe(pruned.includes(blockOf(i)) ? 0 : 1));
    disposeMasks(masks);
    // A shorter blockShape tiles the trailing axes: [2] on [4, 6] blocks pairs of outputs in each row.
    const rows = blockMasks([v], { blockShape: [2], sparsity: 0.25 });
    expect(zeros(flat(rows, v))).toBe(Math.round(0.25 * 12) * 2);
    disposeMasks(rows);
    expect(() => blockMasks([v], { blockShape: [3, 3], sparsity: 0.5 })).toThrow(/must divide the shape \[4,6\]/);
    expect(() => blockMasks([v], { blockShape: [1, 1, 1], sparsity: 0.5 })).toThrow(TrainkitError);
    expect(() => blockMasks([v], { blockShape: [2, 3], sparsity: 1 })).toThrow(/sparsity/);
    v.dispose();
  });
});

describe('channelMasks', () => {
  it('prunes whole output filters with the smallest L1 / L2 norm (torch ln_structured, round(amount·C))', () => {
    const v = seededVariable(7, [3, 3, 2, 5]);
    const w = Array.from(v.dataSync());
    for (const norm of [1, 2] as const) {
      const masks = channelMasks([v], { sparsity: 0.4, norm });
      const score = [0, 0, 0, 0, 0];
      w.forEach((x, i) => (score[i % 5] = (score[i % 5] as number) + (norm === 1 ? Math.abs(x) : x * x)));
      const pruned = [0, 1, 2, 3, 4].sort((a, b) => (score[a] as number) - (score[b] as number)).slice(0, 2);
      flat(masks, v).forEach((x, i) => expect(x).toBe(pruned.includes(i % 5) ? 0 : 1));
      disposeMasks(masks);
    }
    expect(() => channelMasks([v], { sparsity: 0.5, norm: 3 as 1 })).toThrow(/norm must be 1 or 2/);
    expect(() => channelMasks([v], { sparsity: -0.5 })).toThrow(/sparsity/);
    v.dispose();
  });
});

describe('randomMasks', () => {
  it('prunes exactly round(s·N) per tensor, the same for the same seed, different for another', () => {
    const a = seededVariable(8, [10, 10]);
    const b = seededVariable(9, [7]);
    const m1 = randomMasks([a, b], { sparsity: 0.3, seed: 5 });
    const m2 = randomMasks([a, b], { sparsity: 0.3, seed: 5 });
    const m3 = randomMasks([a, b], { sparsity: 0.3, seed: 6 });
    expect(zeros(flat(m1, a))).toBe(30);
    expect(zeros(flat(m1, b))).toBe(2);
    expect(flat(m1, a)).toEqual(flat(m2, a));
    expect(flat(m1, a)).not.toEqual(flat(m3, a));
    [m1, m2, m3].forEach(disposeMasks);
    expect(() => randomMasks([a], { sparsity: 0.3, seed: 0 })).toThrow(/seed/);
    expect(() => randomMasks([a], { sparsity: 1.5, seed: 1 })).toThrow(/sparsity/);
    a.dispose();
    b.dispose();
  });
});

describe('structured masks with maskHook', () => {
  it('2:4, block and channel patterns stay exact under Adam in model.fit', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [8], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const { x, y } = seededData(11, 16, 8, 3);
    for (const make of [
      () => nmMasks(model, { n: 2, m: 4 }),
      () => blockMasks(model, { blockShape: [4, 1], sparsity: 0.5 }),
      () => channelMasks(model, { sparsity: 0.34, norm: 1 }),
    ]) {
      const masks = make();
      const hook = maskHook(masks);
      hook.apply();
      const opt = withHooks(tf.train.adam(0.05), hook);
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      await model.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 });
      for (const [name, m] of masks) {
        const w = (tf.engine().registeredVariables[name] as tf.Variable).dataSync();
        const md = m.dataSync();
        expect(Array.from(w).filter((_, i) => md[i] === 0).every((v) => v === 0)).toBe(true);
        expect(Array.from(w).filter((_, i) => md[i] === 1).some((v) => v !== 0)).toBe(true);
      }
      disposeMasks(masks);
      opt.dispose();
    }
    tf.dispose([x, y]);
    model.dispose();
  });
});
