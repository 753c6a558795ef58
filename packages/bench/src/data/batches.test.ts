import { rng } from '@trainkit/core';
import { tf } from '@trainkit/test-utils';
import { describe, expect, it } from 'vitest';
import { cutout, gaussianNoise, horizontalFlip, randomCrop, weakStrong } from './augment';
import { batchCount, batches } from './batches';
import { syntheticSplit } from './synthetic';

const data = syntheticSplit({ n: 10, shape: [4, 4, 1], classes: 3, seed: 2 });

function order(seed: number, epoch: number, batchSize = 4, dropLast = false): number[][] {
  const out: number[][] = [];
  for (const b of batches(data, { batchSize, seed, epoch, dropLast })) {
    out.push(Array.from(b.indices));
    tf.dispose([b.x, b.y]);
  }
  return out;
}

describe('batches', () => {
  it('visit every example once per epoch, seeded per (seed, epoch)', () => {
    const a = order(1, 0);
    expect(a.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(a.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(order(1, 0)).toEqual(a);
    expect(order(1, 1)).not.toEqual(a);
    expect(order(2, 0)).not.toEqual(a);
    expect(order(1, 0, 4, true).map((b) => b.length)).toEqual([4, 4]);
    expect(batchCount(10, 4, true)).toBe(2);
  });

  it('hold the right pixels and one-hot labels', () => {
    const [b] = batches(data, { batchSize: 3, seed: 1, shuffle: false });
    expect(b!.x.shape).toEqual([3, 4, 4, 1]);
    expect(Array.from(b!.x.dataSync())).toEqual(Array.from(data.x.subarray(0, 48)));
    expect(b!.y.arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    tf.dispose([b!.x, b!.y]);
  });

  it('give a weak and a strong view with a pair augmentation', () => {
    const [b] = batches(data, { batchSize: 5, seed: 1, augment: weakStrong() });
    expect(b!.xStrong!.shape).toEqual([5, 4, 4, 1]);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(b!.x, b!.xStrong!))).dataSync()[0]);
    expect(d).toBeGreaterThan(0);
    tf.dispose([b!.x, b!.y, b!.xStrong]);
  });
});

describe('augmentations', () => {
  const shape = [4, 4, 1] as const;
  const img = Float32Array.from({ length: 32 }, (_, i) => (i % 16) / 16 + 0.01); // two 4×4 images

  it('randomCrop(0) is the identity; randomCrop(pad) shifts by at most pad with zero fill', () => {
    expect(Array.from(randomCrop(0)(img, shape, rng(1)))).toEqual(Array.from(img));
    const out = randomCrop(1)(img, shape, rng(3));
    // every output pixel is 0 or equals a source pixel at most 1 row/column away
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const v = out[i * 16 + y * 4 + x] as number;
          if (v === 0) continue;
          const src = (Math.round((v - 0.01) * 16) + 16) % 16;
          expect(Math.abs(Math.floor(src / 4) - y)).toBeLessThanOrEqual(1);
          expect(Math.abs((src % 4) - x)).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it('horizontalFlip(1) mirrors rows; twice is the identity', () => {
    const f = horizontalFlip(1)(img, shape, rng(1));
    expect(Array.from(f.subarray(0, 4))).toEqual(Array.from(img.subarray(0, 4)).reverse());
    expect(Array.from(horizontalFlip(1)(f, shape, rng(1)))).toEqual(Array.from(img));
    expect(Array.from(horizontalFlip(0)(img, shape, rng(1)))).toEqual(Array.from(img));
  });

  it('cutout zeroes at most size² pixels per image; noise stays in [0, 1]; both are seeded', () => {
    const c = cutout(2)(img, shape, rng(4));
    for (let i = 0; i < 2; i++) {
      const zeros = Array.from(c.subarray(i * 16, i * 16 + 16)).filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThanOrEqual(1);
      expect(zeros).toBeLessThanOrEqual(4);
    }
    expect(Array.from(cutout(2)(img, shape, rng(4)))).toEqual(Array.from(c));
    const n = gaussianNoise(0.5)(img, shape, rng(4));
    expect(Math.min(...n)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...n)).toBeLessThanOrEqual(1);
    expect(Array.from(n)).not.toEqual(Array.from(img));
    expect(Array.from(gaussianNoise(0.5)(img, shape, rng(4)))).toEqual(Array.from(n));
  });
});
