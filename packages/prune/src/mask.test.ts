import { describe, expect, it, vi } from 'vitest';
import * as fc from 'fast-check';
import { expectNoLeak, seededVariable, tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { applyMasks, disposeMasks, magnitudeMasks, maskSparsity, prunableParams, sparsityOf, type Masks } from './mask';

const zerosOf = (m: tf.Tensor): number => Array.from(m.dataSync()).filter((v) => v === 0).length;
const vr = (a: number[]): tf.Variable => tf.tidy(() => tf.variable(tf.tensor1d(a)));
const FC = { seed: 20260, numRuns: 40 };

function withVars<T>(shapes: number[][], seed: number, fn: (vs: tf.Variable[]) => T): T {
  const vs = shapes.map((s, i) => seededVariable(seed + i, s));
  try {
    return fn(vs);
  } finally {
    for (const v of vs) v.dispose();
  }
}

describe('magnitudeMasks', () => {
  it('layer scope: exactly round(s·N_l) zeros per tensor, and the smallest |w| go', () => {
    withVars([[4, 5], [3, 3, 2, 4], [7]], 11, (vs) => {
      const masks = magnitudeMasks(vs, { sparsity: 0.6, scope: 'layer' });
      for (const v of vs) {
        const m = masks.get(v.name) as tf.Tensor;
        const n = v.size;
        expect(zerosOf(m)).toBe(Math.round(0.6 * n));
        // Every pruned |w| <= every kept |w|.
        const w = Array.from(v.dataSync()).map(Math.abs);
        const md = m.dataSync();
        const maxPruned = Math.max(...w.filter((_, i) => md[i] === 0));
        const minKept = Math.min(...w.filter((_, i) => md[i] === 1));
        expect(maxPruned).toBeLessThanOrEqual(minKept);
      }
      disposeMasks(masks);
    });
  });

  it('global scope: exactly round(s·N) zeros in total, one threshold across tensors', () => {
    withVars([[10, 10], [50]], 3, (vs) => {
      // Scale the second tensor down so that global pruning takes more from it.
      tf.tidy(() => vs[1]?.assign(tf.mul(vs[1] as tf.Variable, 0.1)));
      const masks = magnitudeMasks(vs, { sparsity: 0.5, scope: 'global' });
      const total = [...masks.values()].reduce((s, m) => s + zerosOf(m), 0);
      expect(total).toBe(Math.round(0.5 * 150)); // 75
      expect(zerosOf(masks.get(vs[1]?.name as string) as tf.Tensor)).toBeGreaterThan(25);
      const all = vs.flatMap((v) => Array.from(v.dataSync()).map(Math.abs));
      const flags = vs.flatMap((v) => Array.from((masks.get(v.name) as tf.Tensor).dataSync()));
      const maxPruned = Math.max(...all.filter((_, i) => flags[i] === 0));
      const minKept = Math.min(...all.filter((_, i) => flags[i] === 1));
      expect(maxPruned).toBeLessThanOrEqual(minKept);
      disposeMasks(masks);
    });
  });

  it('ties: all-equal |w| prunes exactly n, lowest flat indices first (layer and global)', () => {
    const a = vr([1, -1, 1, -1, 1, -1, 1, -1]);
    const b = vr([-1, 1, 1, 1]);
    const layer = magnitudeMasks([a], { sparsity: 0.5 });
    expect(Array.from((layer.get(a.name) as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const global = magnitudeMasks([a, b], { sparsity: 0.75, scope: 'global' });
    // 9 of 12 go: all 8 of a (indices 0..7 of the concatenation), then b[0].
    expect(Array.from((global.get(a.name) as tf.Tensor).dataSync())).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from((global.get(b.name) as tf.Tensor).dataSync())).toEqual([0, 1, 1, 1]);
    disposeMasks(layer);
    disposeMasks(global);
    a.dispose();
    b.dispose();
  });

  it('warns when global pruning removes a whole tensor', () => {
    const a = vr([0.01, 0.02]);
    const b = vr([1, 2, 3, 4, 5, 6]);
    const onWarning = vi.fn();
    const m = magnitudeMasks([a, b], { sparsity: 0.25, scope: 'global', onWarning });
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(String(onWarning.mock.calls[0]?.[0])).toContain(a.name);
    disposeMasks(m);
    a.dispose();
    b.dispose();
  });

  it('layer scope keeps at least one weight unless told not to', () => {
    const a = vr([3, 1, 2]);
    const m1 = magnitudeMasks([a], { sparsity: 0.9 }); // round(2.7) = 3 → capped at 2
    expect(Array.from((m1.get(a.name) as tf.Tensor).dataSync())).toEqual([1, 0, 0]);
    const m2 = magnitudeMasks([a], { sparsity: 0.9, keepAtLeastOne: false });
    expect(zerosOf(m2.get(a.name) as tf.Tensor)).toBe(3);
    disposeMasks(m1);
    disposeMasks(m2);
    a.dispose();
  });

  it('sparsity 0 is the identity; masks hold only 0/1 and have the variable shapes', () => {
    withVars([[3, 4]], 5, (vs) => {
      const before = Array.from((vs[0] as tf.Variable).dataSync());
      const masks = magnitudeMasks(vs, { sparsity: 0 });
      applyMasks(vs, masks);
      expect(Array.from((vs[0] as tf.Variable).dataSync())).toEqual(before);
      expect((masks.get((vs[0] as tf.Variable).name) as tf.Tensor).shape).toEqual([3, 4]);
      expect(maskSparsity(masks)).toBe(0);
      disposeMasks(masks);
    });
  });

  it('nested masks: remaining = Π(1−q)·N within ±1 per round, new ≤ old elementwise', () => {
    withVars([[20, 30]], 9, (vs) => {
      const v = vs[0] as tf.Variable;
      let prev: Masks | undefined;
      let remaining = v.size;
      for (let r = 1; r <= 5; r++) {
        const next = magnitudeMasks(vs, { rate: 0.2, previous: prev });
        const kept = v.size - zerosOf(next.get(v.name) as tf.Tensor);
        remaining -= Math.round(0.2 * remaining);
        expect(kept).toBe(remaining);
        expect(Math.abs(kept - v.size * 0.8 ** r)).toBeLessThanOrEqual(r);
        if (prev) {
          const o = (prev.get(v.name) as tf.Tensor).dataSync();
          const n = (next.get(v.name) as tf.Tensor).dataSync();
          for (let i = 0; i < o.length; i++) expect(n[i] as number).toBeLessThanOrEqual(o[i] as number);
        }
        disposeMasks(prev);
        prev = next;
        // Training moves weights; here just shuffle magnitudes so ranking would differ without `previous`.
        tf.tidy(() => v.assign(tf.mul(v, tf.randomUniform(v.shape, 0.5, 1.5, 'float32', 100 + r))));
      }
      disposeMasks(prev);
    });
  });

  it('a target sparsity with previous counts previous zeros and never revives them', () => {
    withVars([[100]], 21, (vs) => {
      const v = vs[0] as tf.Variable;
      const m1 = magnitudeMasks(vs, { sparsity: 0.3 });
      // Make previously-pruned weights the largest: they must still stay pruned.
      tf.tidy(() => v.assign(tf.add(v, tf.mul(tf.sub(1, m1.get(v.name) as tf.Tensor), 100))));
      const m2 = magnitudeMasks(vs, { sparsity: 0.5, previous: m1 });
      expect(zerosOf(m2.get(v.name) as tf.Tensor)).toBe(50);
      const a = (m1.get(v.name) as tf.Tensor).dataSync();
      const b = (m2.get(v.name) as tf.Tensor).dataSync();
      for (let i = 0; i < a.length; i++) if (a[i] === 0) expect(b[i]).toBe(0);
      expect(() => magnitudeMasks(vs, { sparsity: 0.2, previous: m2 })).toThrow(TrainkitError);
      disposeMasks(m1);
      disposeMasks(m2);
    });
  });

  it('exclude leaves variables and layers untouched; a model defaults to conv/dense kernels', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'c1' }),
        tf.layers.batchNormalization({ name: 'bn' }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'c2' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, name: 'out' }),
      ],
    });
    const refs = prunableParams(model);
    expect(refs.map((r) => r.layerName)).toEqual(['c1', 'c2', 'out']);
    expect(prunableParams(model, { excludeFirstConv: true, excludeOutput: true }).map((r) => r.layerName)).toEqual(['c2']);
    const masks = magnitudeMasks(model, { sparsity: 0.5, exclude: ['c1'] });
    expect([...masks.keys()]).toEqual(refs.slice(1).map((r) => r.name));
    expect(() => magnitudeMasks(model, { sparsity: 0.5, exclude: ['nope'] })).toThrow(/nope/);
    disposeMasks(masks);
    model.dispose();
  });

  it('rejects sparsity outside [0, 1), both/neither of sparsity and rate, and unknown variables', () => {
    withVars([[4]], 1, (vs) => {
      for (const s of [-0.1, 1, 1.5, Number.NaN]) {
        expect(() => magnitudeMasks(vs, { sparsity: s })).toThrow(/sparsity/);
      }
      expect(() => magnitudeMasks(vs, { rate: 1 })).toThrow(/rate/);
      expect(() => magnitudeMasks(vs, {})).toThrow(TrainkitError);
      expect(() => magnitudeMasks(vs, { sparsity: 0.5, rate: 0.5 })).toThrow(TrainkitError);
      expect(() => magnitudeMasks(vs, { sparsity: 0.5, scope: 'row' as 'layer' })).toThrow(/scope/);
      const other = new Map([['not-a-var', tf.ones([4])]]);
      try {
        magnitudeMasks(vs, { sparsity: 0.5, previous: other });
        expect.unreachable();
      } catch (e) {
        expect((e as TrainkitError).code).toBe('UNKNOWN_VARIABLE');
      }
      expect(() => applyMasks(vs, other)).toThrow(/not-a-var/);
      const wrong = new Map([[(vs[0] as tf.Variable).name, tf.ones([2, 2])]]);
      expect(() => applyMasks(vs, wrong)).toThrow(/shape/);
      disposeMasks(other);
      disposeMasks(wrong);
    });
  });

  it('sparsityOf counts exact zeros after applyMasks; nothing leaks', async () => {
    await expectNoLeak(() =>
      withVars([[8, 8], [16]], 4, (vs) => {
        const masks = magnitudeMasks(vs, { sparsity: 0.75 });
        applyMasks(vs, masks);
        const rep = sparsityOf(vs);
        expect(rep.layers.map((l) => l.zeros)).toEqual([48, 12]);
        expect(rep.sparsity).toBe(60 / 80);
        disposeMasks(masks);
      }),
    );
  });

  it('property: exact counts for any shape, scope and sparsity', () => {
    const shape = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(fc.array(shape, { minLength: 1, maxLength: 3 }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.boolean(), fc.integer({ min: 1, max: 1000 }), (shapes, s, global, seed) => {
        const before = tf.memory().numTensors;
        withVars(shapes, seed, (vs) => {
          const masks = magnitudeMasks(vs, { sparsity: s, scope: global ? 'global' : 'layer', keepAtLeastOne: false, onWarning: () => {} });
          if (global) {
            const n = vs.reduce((a, v) => a + v.size, 0);
            expect([...masks.values()].reduce((a, m) => a + zerosOf(m), 0)).toBe(Math.round(s * n));
          } else {
            for (const v of vs) expect(zerosOf(masks.get(v.name) as tf.Tensor)).toBe(Math.round(s * v.size));
          }
          disposeMasks(masks);
        });
        expect(tf.memory().numTensors).toBe(before);
      }),
      FC,
    );
  });
});
