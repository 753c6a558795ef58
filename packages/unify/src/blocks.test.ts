import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { blockView, toBlockShape } from './blocks';
import { TrainkitError } from '@trainkit/core';

/** Decodes a flat tfjs kernel index to canonical (o, i, k) for dims [O, I, K]. */
function coords(idx: number, O: number, I: number): [number, number, number] {
  return [idx % O, Math.floor(idx / O) % I, Math.floor(idx / (O * I))];
}

describe('blockView', () => {
  it('groups 4 consecutive input channels at a fixed (kh, kw, out) by default', () => {
    // conv kernel [kh=2, kw=2, in=8, out=3]; value encodes its own position: 1000·h + 100·w + 10·i + o
    const vals: number[] = [];
    for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) for (let i = 0; i < 8; i++) for (let o = 0; o < 3; o++) vals.push(1000 * h + 100 * w + 10 * i + o);
    const kernel = tf.tensor4d(vals, [2, 2, 8, 3]);
    const v = blockView(kernel);
    expect(v.blockShape).toEqual([1, 4, 1]);
    expect(v.dims).toEqual([3, 8, 4]);
    expect(v.grid).toEqual([3, 2, 4]);
    expect(v.numBlocks).toBe(24);
    const data = kernel.dataSync();
    const block = (b: number) => Array.from(v.indices.subarray(b * 4, b * 4 + 4), (i) => data[i]);
    // block 0 = (o=0, input block 0, k=0) → h=0, w=0, i=0..3, o=0
    expect(block(0)).toEqual([0, 10, 20, 30]);
    // block 1 = (o=0, input block 0, k=1) → h=0, w=1
    expect(block(1)).toEqual([100, 110, 120, 130]);
    // block 4 = (o=0, input block 1, k=0) → i=4..7
    expect(block(4)).toEqual([40, 50, 60, 70]);
    // block 8 = (o=1, input block 0, k=0)
    expect(block(8)).toEqual([1, 11, 21, 31]);
    // block 23 = (o=2, input block 1, k=3) → h=1, w=1
    expect(block(23)).toEqual([1142, 1152, 1162, 1172]);
    kernel.dispose();
  });

  it('maps a dense kernel [in, out] to V[out, in, 1]', () => {
    const v = blockView([8, 2], { blockSize: 4 });
    expect(v.dims).toEqual([2, 8, 1]);
    // flat index of (i, o) is i·2 + o
    expect(Array.from(v.indices.subarray(0, 4))).toEqual([0, 2, 4, 6]);
    expect(Array.from(v.indices.subarray(4, 8))).toEqual([8, 10, 12, 14]);
    expect(Array.from(v.indices.subarray(8, 12))).toEqual([1, 3, 5, 7]);
  });

  const shapes: [string, number | [number, number, number], 'in' | 'out' | 'spatial' | undefined][] = [
    ['(1,4,1)', [1, 4, 1], undefined],
    ['(1,8,1)', 8, 'in'],
    ['(4,1,1)', 4, 'out'],
    ['(2,2,1)', [2, 2, 1], undefined],
    ['(1,1,kh·kw)', 9, 'spatial'],
  ];
  for (const [label, blockSize, along] of shapes) {
    it(`tiles ${label} blocks exactly, each element once, edges left out`, () => {
      const shape = [3, 3, 10, 6]; // in = 10 (not a multiple of 4 or 8), out = 6
      const v = blockView(shape, { blockSize, along });
      const [go, gi, gk] = v.blockShape;
      const [O, I, K] = v.dims;
      expect([O, I, K]).toEqual([6, 10, 9]);
      expect(v.grid).toEqual([Math.floor(6 / go), Math.floor(10 / gi), Math.floor(9 / gk)]);
      const seen = new Uint8Array(O * I * K);
      for (let b = 0; b < v.numBlocks; b++) {
        const cs = Array.from(v.indices.subarray(b * v.blockLength, (b + 1) * v.blockLength), (idx) => coords(idx, O, I));
        // all elements of a block lie in one [go, gi, gk] tile of the grid
        const tile = (c: [number, number, number]) => `${Math.floor(c[0] / go)},${Math.floor(c[1] / gi)},${Math.floor(c[2] / gk)}`;
        expect(new Set(cs.map(tile)).size).toBe(1);
        for (const idx of v.indices.subarray(b * v.blockLength, (b + 1) * v.blockLength)) seen[idx]! += 1;
      }
      expect(Math.max(...seen)).toBe(1);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(v.numBlocks * v.blockLength);
      expect(v.edgeCount).toBe(O * I * K - v.numBlocks * v.blockLength);
    });
  }

  it('rejects bad block sizes and kernels clearly', () => {
    for (const bad of [0, -4, 2.5, [1, 4] as unknown as [number, number, number], [1, 0, 1] as [number, number, number]]) {
      expect(() => blockView([4, 4], { blockSize: bad })).toThrowError(/blockSize must be/);
    }
    expect(() => toBlockShape({ blockSize: 4, along: 'rows' as never })).toThrowError(TrainkitError);
    expect(() => blockView([5])).toThrowError(/rank >= 2/);
  });

  it('counts a kernel too small for one block as all edge', () => {
    const v = blockView([3, 5], { blockSize: 4 });
    expect(v.numBlocks).toBe(0);
    expect(v.edgeCount).toBe(15);
  });
});
