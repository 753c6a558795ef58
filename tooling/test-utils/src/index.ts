import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { setupTf, tf } from './tf';

export { setupTf, tf };

type Numeric = tf.Tensor | ArrayLike<number> | number;

function toArray(v: Numeric): Float64Array {
  if (typeof v === 'number') return Float64Array.of(v);
  if (v instanceof tf.Tensor || (typeof v === 'object' && v !== null && 'dataSync' in v)) {
    return Float64Array.from((v as tf.Tensor).dataSync() as ArrayLike<number>);
  }
  return Float64Array.from(v as ArrayLike<number>);
}

/**
 * Asserts |a − e| <= atol + rtol·|e| elementwise (shapes must match when both are tensors).
 *
 * @defaultValue atol 1e-5, rtol 1e-4 (STYLE.md §4: one op vs hand-derived values)
 */
export function expectTensorClose(actual: Numeric, expected: Numeric, opts: { atol?: number; rtol?: number } = {}): void {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect(actual.shape, 'shape').toEqual(expected.shape);
  }
  const a = toArray(actual);
  const e = toArray(expected);
  expect(a.length, 'element count').toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] as number;
    const ei = e[i] as number;
    const excess = Math.abs(ai - ei) - (atol + rtol * Math.abs(ei));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`element ${worst}: got ${a[worst]}, expected ${e[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Asserts that `fn` leaves `tf.memory().numTensors` unchanged. Returns fn's result (which must hold no tensors). */
export async function expectNoLeak<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  expect(tf.memory().numTensors - before, 'tensors leaked').toBe(0);
  return out;
}

/** A deterministic uniform generator in [0, 1) (mulberry32) for test data. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded classification data: x ~ N(0,1)-ish of shape [n, d], labels from a fixed random linear rule.
 *
 * @returns `{x, y, labels}`: y is one-hot [n, classes]; the caller disposes x and y
 */
export function seededData(seed: number, n: number, d: number, classes = 3): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Int32Array } {
  const r = seededRandom(seed);
  const xs = new Float32Array(n * d);
  for (let i = 0; i < xs.length; i++) xs[i] = (r() + r() + r() - 1.5) * 2;
  const w = Array.from({ length: d * classes }, () => r() * 2 - 1);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < classes; c++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += (xs[i * d + j] as number) * (w[j * classes + c] as number);
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    labels[i] = best;
  }
  const x = tf.tensor2d(xs, [n, d]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat() as tf.Tensor2D);
  return { x, y, labels };
}

/** Float array of `n` seeded values uniform in [lo, hi). */
export function seededArray(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/**
 * Central finite-difference gradient of scalar `f` at `x` (float64 accumulation of float32 evaluations).
 *
 * @param eps - step
 * @defaultValue 1e-3
 */
export function finiteDiffGrad(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, eps = 1e-3): Float64Array {
  const base = Float32Array.from(x.dataSync() as Float32Array);
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const eval1 = (delta: number): number => {
      const v = Float32Array.from(base);
      v[i] = (v[i] as number) + delta;
      return tf.tidy(() => f(tf.tensor(v, x.shape)).dataSync()[0] as number);
    };
    out[i] = (eval1(eps) - eval1(-eps)) / (2 * eps);
  }
  return out;
}

/**
 * A variable with seeded uniform values in [lo, hi) (no stray source tensor left behind).
 *
 * @returns a new tf.Variable the caller disposes
 */
export function seededVariable(seed: number, shape: number[], name?: string, lo = -1, hi = 1, trainable = true): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tidy(() => tf.variable(tf.tensor(seededArray(seed, n, lo, hi), shape), trainable, name));
}

/**
 * Asserts max |a − e| ≤ tol · max(1, max |e|): kernels against the cpu backend "at ≤ 1e-4 of output scale".
 */
export function expectCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): void {
  expect(actual.length, 'element count').toBe(expected.length);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i] as number));
  let err = 0;
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs((actual[i] as number) - (expected[i] as number)));
  expect(err / scale).toBeLessThanOrEqual(tol);
}

/**
 * The README usage example cannot rot: asserts that `README.md` contains `example/readme.mjs` verbatim (inside a
 * code fence) and that running it with node (self-referencing the built package) exits 0 and prints `output`.
 *
 * @param pkgDir - the package directory (pass `new URL('..', import.meta.url).pathname` from a test in src/)
 */
export function expectReadmeExample(pkgDir: string, output: RegExp): void {
  const code = readFileSync(join(pkgDir, 'example', 'readme.mjs'), 'utf8').trim();
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  expect(readme.includes(code), 'README.md must contain example/readme.mjs verbatim').toBe(true);
  expect(code.split('\n').length, 'README example: at most 10 lines of code besides imports').toBeLessThanOrEqual(14);
  const stdout = execFileSync(process.execPath, [join(pkgDir, 'example', 'readme.mjs')], {
    cwd: pkgDir,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  expect(stdout).toMatch(output);
}
export { BAD_KINDS, checkContract, type BadKind, type FuzzCase, type FuzzOutcome, type Mutation } from './fuzz';

/**
 * The `code` of the TrainkitError `fn` throws, or undefined when it returns; any other error fails the test.
 * (By name and code, not instanceof: test-utils does not depend on @trainkit/core.)
 */
export function errorCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    const e = err as { name?: unknown; code?: unknown; message?: unknown };
    if (e?.name !== 'TrainkitError' || typeof e.code !== 'string') expect.fail(`expected a TrainkitError, got: ${String(e?.message ?? err)}`);
    return e.code as string;
  }
  return undefined;
}
