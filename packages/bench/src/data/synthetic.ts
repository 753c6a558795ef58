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
