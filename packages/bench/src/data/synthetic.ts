import { checkNumber, checkSeed, rng } from '@trainkit/core';
import type { Split } from './split';

/**
 * Seeded synthetic images for tests and smoke runs: each class is a fixed random template plus noise, in [0, 1].
 *
 * @param args.n - examples; @param args.shape - [h, w, c]; @param args.classes - classes; @param args.noise - @defaultValue 0.2
 */
export function syntheticSplit(args: { n: number; shape?: [number, number, number]; classes?: number; seed: number; noise?: number }): Split {
  const n = checkNumber('n', args.n, { integer: true, min: 1 });
  const shape = args.shape ?? [8, 8, 1];
  const classes = args.classes ?? 3;
  const r = rng(checkSeed(args.seed));
  const size = shape[0] * shape[1] * shape[2];
  const templates = Array.from({ length: classes }, () => Float32Array.from({ length: size }, () => r.next()));
  const x = new Float32Array(n * size);
  const labels = new Uint8Array(n);
  const noise = args.noise ?? 0.2;
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    const t = templates[c] as Float32Array;
    for (let k = 0; k < size; k++) x[i * size + k] = Math.min(1, Math.max(0, (t[k] as number) + noise * r.normal()));
  }
  return { x, labels, n, shape: [...shape], classes };
}

/**
 * Tiny CIFAR binary files for tests (no real CIFAR is needed): record i has the label bytes `labelsOf(i)`, then an R
 * plane of value i % 256, a G plane of 100 + i (mod 256) and a B plane of 200 + (pixel % 50) (mod 256).
 *
 * @param n - records
 * @param labelsOf - the label bytes of record i: one (CIFAR-10) or two (CIFAR-100: coarse, fine)
 * @returns the bytes of one `.bin` file
 */
export function syntheticCifarBinary(n: number, labelsOf: (i: number) => number[]): Uint8Array {
  const lb = labelsOf(0).length;
  const rec = lb + 3072;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    out.set(labelsOf(i), i * rec);
    for (let p = 0; p < 1024; p++) {
      out[i * rec + lb + p] = i % 256;
      out[i * rec + lb + 1024 + p] = (100 + i) % 256;
      out[i * rec + lb + 2048 + p] = (200 + (p % 50)) % 256;
    }
  }
  return out;
}
