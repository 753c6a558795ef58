import { describe, expect, it } from 'vitest';
import { balancedIndices, balancedSubset, classCounts, splitLabeled, take, trainValSplit } from './split';
import { syntheticSplit } from './synthetic';

// 3 classes with 40 / 40 / 40 examples, labels i % 3
const data = syntheticSplit({ n: 120, shape: [2, 2, 1], classes: 3, seed: 5 });

function ids(split: { x: Float32Array; n: number }): string[] {
  // identify examples by their pixels (synthetic examples are distinct)
  return Array.from({ length: split.n }, (_, i) => Array.from(split.x.subarray(i * 4, i * 4 + 4)).join(','));
}

describe('splits', () => {
  it('take copies the chosen examples in order', () => {
    const t = take(data, [5, 0]);
    expect(Array.from(t.labels)).toEqual([data.labels[5], data.labels[0]]);
    expect(Array.from(t.x.subarray(0, 4))).toEqual(Array.from(data.x.subarray(20, 24)));
    expect(() => take(data, [120])).toThrow(/indices\[0\]/);
  });

  it('trainValSplit is disjoint, complete, stratified and seeded', () => {
    const a = trainValSplit(data, { valFraction: 0.25, seed: 7 });
    expect(a.val.n + a.train.n).toBe(120);
    expect(classCounts(a.val)).toEqual([10, 10, 10]);
    expect(new Set([...ids(a.train), ...ids(a.val)]).size).toBe(120);
    const b = trainValSplit(data, { valFraction: 0.25, seed: 7 });
    expect(ids(b.val)).toEqual(ids(a.val));
    const c = trainValSplit(data, { valFraction: 0.25, seed: 8 });
    expect(ids(c.val)).not.toEqual(ids(a.val));
    expect(() => trainValSplit(data, { valFraction: 1, seed: 7 })).toThrow(/valFraction/);
    expect(() => trainValSplit(data, { valFraction: 0.5, seed: 0 })).toThrow(/seed/);
  });

  it('splitLabeled keeps perClass or a fraction of each class labeled', () => {
    const p = splitLabeled(data, { perClass: 4, seed: 3 });
    expect(classCounts(p.labeled)).toEqual([4, 4, 4]);
    expect(classCounts(p.unlabeled)).toEqual([36, 36, 36]);
    expect(new Set([...ids(p.labeled), ...ids(p.unlabeled)]).size).toBe(120);
    const f = splitLabeled(data, { fraction: 0.1, seed: 3 });
    expect(classCounts(f.labeled)).toEqual([4, 4, 4]);
    expect(ids(splitLabeled(data, { perClass: 4, seed: 3 }).labeled)).toEqual(ids(p.labeled));
    expect(() => splitLabeled(data, { seed: 3 })).toThrow(/exactly one/);
    expect(() => splitLabeled(data, { perClass: 2, fraction: 0.1, seed: 3 })).toThrow(/exactly one/);
  });

  it('balancedIndices spreads the count over classes, topping up from the others when one runs short', () => {
    const labels = [...Array(10).fill(0), ...Array(2).fill(1), ...Array(10).fill(2)];
    const ix = balancedIndices(labels, 3, 12, 1);
    const counts = [0, 0, 0];
    for (const i of ix) counts[labels[i] as number]! += 1;
    expect(counts).toEqual([5, 2, 5]);
    expect(new Set(ix).size).toBe(12);
    expect(classCounts(balancedSubset(data, 30, 9))).toEqual([10, 10, 10]);
    expect(balancedSubset(data, 500, 9)).toBe(data);
  });
});
