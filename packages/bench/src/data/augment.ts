import { checkNumber, type Rng } from '@trainkit/core';

/**
 * An augmentation: a pure function of a batch of NHWC images and a seeded generator.
 *
 * @param images - `n * h * w * c` floats (not modified)
 * @param shape - [h, w, c] of one image
 * @param r - the seeded generator (the same draws give the same output)
 * @returns a new array of the same length
 */
export type Augment = (images: Float32Array, shape: readonly [number, number, number], r: Rng) => Float32Array;

/** A weak and a strong view of the same images (FixMatch-style semi-supervised training). */
export interface PairAugment {
  weak: Augment;
  strong: Augment;
}

/** Type guard for {@link PairAugment}. */
export function isPairAugment(a: unknown): a is PairAugment {
  return typeof a === 'object' && a !== null && typeof (a as PairAugment).weak === 'function' && typeof (a as PairAugment).strong === 'function';
}

/**
 * Random crop after zero padding by `pad` pixels on each side (a random translation by up to ±pad).
 *
 * @param pad - integer >= 0
 */
export function randomCrop(pad: number): Augment {
  checkNumber('pad', pad, { integer: true, min: 0 });
  return (images, [h, w, c], r) => {
    const size = h * w * c;
    const n = images.length / size;
    const out = new Float32Array(images.length);
    for (let i = 0; i < n; i++) {
      const dy = r.int(2 * pad + 1) - pad;
      const dx = r.int(2 * pad + 1) - pad;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue;
        for (let x = 0; x < w; x++) {
          const sx = x + dx;
          if (sx < 0 || sx >= w) continue;
          for (let k = 0; k < c; k++) out[i * size + (y * w + x) * c + k] = images[i * size + (sy * w + sx) * c + k] as number;
        }
      }
    }
    return out;
  };
}

/**
 * Mirrors each image left-right with probability `p`.
 *
 * @defaultValue p = 0.5
 */
export function horizontalFlip(p = 0.5): Augment {
  checkNumber('p', p, { min: 0, max: 1 });
  return (images, [h, w, c], r) => {
    const size = h * w * c;
    const n = images.length / size;
    const out = Float32Array.from(images);
    for (let i = 0; i < n; i++) {
      if (!(r.next() < p)) continue;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let k = 0; k < c; k++) out[i * size + (y * w + x) * c + k] = images[i * size + (y * w + (w - 1 - x)) * c + k] as number;
        }
      }
    }
    return out;
  };
}

/**
 * Cutout (DeVries & Taylor 2017): zeroes one `size`×`size` square per image, centred at a uniform random pixel
 * (clipped at the borders).
 *
 * @param size - side in pixels, integer >= 1
 */
export function cutout(size: number): Augment {
  checkNumber('size', size, { integer: true, min: 1 });
  return (images, [h, w, c], r) => {
    const s = h * w * c;
    const n = images.length / s;
    const out = Float32Array.from(images);
    for (let i = 0; i < n; i++) {
      const cy = r.int(h);
      const cx = r.int(w);
      const y0 = Math.max(0, cy - Math.floor(size / 2));
      const x0 = Math.max(0, cx - Math.floor(size / 2));
      const y1 = Math.min(h, cy - Math.floor(size / 2) + size);
      const x1 = Math.min(w, cx - Math.floor(size / 2) + size);
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let k = 0; k < c; k++) out[i * s + (y * w + x) * c + k] = 0;
    }
    return out;
  };
}

/**
 * Adds Gaussian noise N(0, std²) to every pixel and clips to [0, 1].
 *
 * @param std - standard deviation, >= 0
 */
export function gaussianNoise(std: number): Augment {
  checkNumber('std', std, { min: 0 });
  return (images, _shape, r) => {
    const out = new Float32Array(images.length);
    for (let i = 0; i < images.length; i++) out[i] = Math.min(1, Math.max(0, (images[i] as number) + std * r.normal()));
    return out;
  };
}

/** Applies augmentations in order. */
export function compose(...augments: Augment[]): Augment {
  return (images, shape, r) => augments.reduce((x, a) => a(x, shape, r), images);
}

/**
 * A weak/strong pair for semi-supervised runs.
 *
 * @param args.weak - @defaultValue flip + crop(pad 2)
 * @param args.strong - @defaultValue flip + crop(pad 4) + cutout(h/2) + noise(0.1)
 * @remarks The defaults follow FixMatch's weak (flip-and-shift) vs strong (heavier distortion + cutout) split; the
 * strong policy is not RandAugment (no colour ops on grayscale data).
 */
export function weakStrong(args: { weak?: Augment; strong?: Augment } = {}): PairAugment {
  return {
    weak: args.weak ?? compose(horizontalFlip(), randomCrop(2)),
    strong:
      args.strong ??
      ((images, shape, r) => compose(horizontalFlip(), randomCrop(4), cutout(Math.max(1, Math.floor(shape[0] / 2))), gaussianNoise(0.1))(images, shape, r)),
  };
}
