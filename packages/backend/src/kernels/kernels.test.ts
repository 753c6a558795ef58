import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { tf, seededArray, expectCloseToScale as expectValuesCloseToScale } from '@trainkit/test-utils';
import { initWasm, onBackend, withHook } from '../internal/test-helpers';
import { directFilterGradWins, directInputGradWins, im2colFilterGradWins, setDirectInputGrad, setFilterGradChunkBytes, setIm2colFilterGrad } from './conv2d-grad';
import { setSimdDisabled } from '../internal/simd';

/** Runs `check` on the wasm SIMD helpers and again on their JavaScript fallback. */
async function bothPaths(check: () => Promise<void>): Promise<void> {
  await check();
  await withHook(setSimdDisabled, true, check);
}

beforeAll(initWasm);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Shapes equal and max |a − e| ≤ 1e-4 · max(1, max |e|) (1e-4 relative to the output scale). */
function expectCloseToScale(a: { values: Float32Array; shape: number[] }, e: { values: Float32Array; shape: number[] }) {
  expect(a.shape).toEqual(e.shape);
  expectValuesCloseToScale(a.values, e.values);
}

/** Mostly small sizes (fast on cpu), a quarter of the draws up to `max`. */
const size = (small: number, max: number) =>
  fc.oneof({ arbitrary: fc.integer({ min: 1, max: small }), weight: 3 }, { arbitrary: fc.integer({ min: small + 1, max }), weight: 1 });

const geometry = fc.record({
  b: size(3, 16),
  h: fc.integer({ min: 1, max: 9 }),
  w: fc.integer({ min: 1, max: 9 }),
  ci: size(5, 64),
  co: size(5, 64),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }),
  sw: fc.integer({ min: 1, max: 3 }),
  dil: fc.integer({ min: 1, max: 3 }),
  padKind: fc.constantFrom('same', 'valid', 'explicit'),
  pads: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

describe('Conv2DBackpropFilter / Conv2DBackpropInput on wasm match cpu', () => {
  it('on random shapes, strides, dilations, paddings (channels 1–64, batch 1–16)', async () => {
    let checked = 0;
    let dilated = 0;
    let blocked = 0; // draws that reach the SIMD transposes' 4x4 blocks
    await fc.assert(
      fc.asyncProperty(geometry, async (g) => {
        // tf.grad refuses dilated conv2d (tfjs' Conv2D gradient asserts dilation 1), but the kernels take a
        // `dilations` attribute; tfjs allows strides > 1 or dilations > 1, not both.
        const pad: Pad = g.padKind === 'explicit' ? [[0, 0], [g.pads[0], g.pads[1]], [g.pads[2], g.pads[3]], [0, 0]] : (g.padKind as 'same' | 'valid');
        const strides: [number, number] = g.dil > 1 ? [1, 1] : [g.sh, g.sw];
        const d = g.dil;
        const xShape: [number, number, number, number] = [g.b, g.h, g.w, g.ci];
        const fShape: [number, number, number, number] = [g.kh, g.kw, g.ci, g.co];
        let info;
        try {
          info = tf.backend_util.computeConv2DInfo(xShape, fShape, strides, d, pad);
        } catch {
          return;
        }
        if (info.outHeight <= 0 || info.outWidth <= 0) return;
        checked++;
        if (d > 1) dilated++;
        if (g.b >= 4 && g.ci >= 4) blocked++;
        const dyShape = info.outShape;
        const xv = seededArray(g.seed, xShape.reduce((a, b) => a * b));
        const fv = seededArray(g.seed + 1, fShape.reduce((a, b) => a * b));
        const dyv = seededArray(g.seed + 2, dyShape.reduce((a, b) => a * b));
        const attrs = { strides, dilations: [d, d], pad, dataFormat: 'NHWC' };
        // The cpu kernels ignore dilations: the reference uses the equivalent undilated filter (zeros between taps).
        const eShape: [number, number, number, number] = [(g.kh - 1) * d + 1, (g.kw - 1) * d + 1, g.ci, g.co];
        const tap = (i: number, j: number) => (i * d * eShape[1] + j * d) * g.ci * g.co;
        const ev = new Float32Array(eShape.reduce((a, b) => a * b));
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++) ev.set(fv.subarray((i * g.kw + j) * g.ci * g.co, (i * g.kw + j + 1) * g.ci * g.co), tap(i, j));
        const refAttrs = { strides, dilations: [1, 1], pad, dataFormat: 'NHWC' };
        const filterGrad = (be: string, at: object, shape: number[]) =>
          onBackend(be, () =>
            tf.tidy(() =>
              tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, xShape), dy: tf.tensor(dyv, dyShape) }, { ...at, filterShape: shape }) as tf.Tensor,
            ),
          );
        const inputGrad = (be: string, at: object, f: Float32Array, shape: number[]) =>
          onBackend(be, () =>
            tf.tidy(() =>
              tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dyv, dyShape), filter: tf.tensor4d(f, shape as [number, number, number, number]) }, { ...at, inputShape: xShape }) as tf.Tensor,
            ),
          );
        const full = await filterGrad('cpu', refAttrs, eShape);
        const taps = new Float32Array(fShape.reduce((a, b) => a * b));
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++) taps.set(full.values.subarray(tap(i, j), tap(i, j) + g.ci * g.co), (i * g.kw + j) * g.ci * g.co);
        const ref = { values: taps, shape: fShape };
        await bothPaths(async () => {
          expectCloseToScale(await filterGrad('wasm', attrs, fShape), ref);
          // Also the batch-chunked path (one sample per chunk, partial filters summed).
          await withHook(setFilterGradChunkBytes, 1, async () => expectCloseToScale(await filterGrad('wasm', attrs, fShape), ref));
        });
        // The im2col + SIMD product path, wherever the direct kernel is not taken.
        await withHook(setIm2colFilterGrad, true, async () => expectCloseToScale(await filterGrad('wasm', attrs, fShape), ref));
        // Every input-gradient path: where each wins, the SIMD gather always, XNNPACK's form always, no SIMD.
        const refIn = await inputGrad('cpu', refAttrs, ev, eShape);
        for (const mode of [undefined, true, false]) {
          await withHook(setDirectInputGrad, mode, () => bothPaths(async () => expectCloseToScale(await inputGrad('wasm', attrs, fv, fShape), refIn)));
        }
      }),
      { seed: 42, numRuns: 60 },
    );
    expect(checked).toBeGreaterThanOrEqual(30);
    expect(dilated).toBeGreaterThanOrEqual(10);
    expect(blocked).toBeGreaterThanOrEqual(3);
  });

  it('1x1 stride-1 filter gradients (the matrix-product path) match cpu, channels up to 64, batch up to 16', async () => {
    for (const [b, h, w, ci, co, pad] of [
      [16, 5, 7, 64, 48, 'same'],
      [1, 1, 1, 1, 1, 'valid'],
      [3, 4, 4, 7, 64, 'valid'],
      [16, 9, 9, 21, 13, 'same'], // 1296 rows: several 128-row blocks, channel tails
    ] as Array<[number, number, number, number, number, 'same' | 'valid']>) {
      const xv = seededArray(b + ci, b * h * w * ci);
      const dyv = seededArray(co + 1, b * h * w * co);
      const run = (be: string) =>
        onBackend(be, () =>
          tf.tidy(() =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [b, h, w, ci]), dy: tf.tensor4d(dyv, [b, h, w, co]) }, { strides: [1, 1], pad, dataFormat: 'NHWC', filterShape: [1, 1, ci, co] }) as tf.Tensor,
          ),
        );
      const cpu = await run('cpu');
      await bothPaths(async () => expectCloseToScale(await run('wasm'), cpu));
    }
  });

  it('the direct SIMD filter gradient at layer sizes (16-channel blocks and tails, strides, wide rows) matches cpu', async () => {
    for (const [b, h, ci, co, k, st, pad] of [
      [8, 20, 24, 40, 3, 2, 'same'],
      [4, 32, 3, 16, 3, 1, 'same'],
      [2, 17, 7, 21, 5, 1, 'valid'],
    ] as Array<[number, number, number, number, number, number, 'same' | 'valid']>) {
      const info = tf.backend_util.computeConv2DInfo([b, h, h, ci], [k, k, ci, co], st, 1, pad);
      expect(directFilterGradWins(ci, info.outWidth, false)).toBe(true);
      const xv = seededArray(b * ci, b * h * h * ci);
      const dyv = seededArray(co, info.outShape.reduce((p, q) => p * q));
      const run = (be: string) =>
        onBackend(be, () =>
          tf.tidy(() =>
            tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, [b, h, h, ci]), dy: tf.tensor(dyv, info.outShape) }, { strides: st, pad, dataFormat: 'NHWC', filterShape: [k, k, ci, co] }) as tf.Tensor,
          ),
        );
      const cpu = await run('cpu');
      await bothPaths(async () => expectCloseToScale(await run('wasm'), cpu));
    }
  });

  it('the SIMD input gradient at layer sizes (16-channel blocks, 4-channel and single-channel tails, strides, odd widths) matches cpu', async () => {
    for (const [b, h, ci, co, k, st, pad, dil] of [
      [4, 16, 32, 64, 3, 2, 'same', 1],
      [3, 15, 16, 16, 3, 1, 'same', 1],
      [2, 9, 23, 20, 3, 1, 'valid', 1],
      [2, 11, 21, 5, 5, 3, 'same', 1],
      [2, 10, 18, 7, 3, 1, 'same', 2],
      [2, 12, 3, 8, 1, 2, 'valid', 1],
      [5, 2, 40, 48, 3, 1, 'same', 1],
    ] as Array<[number, number, number, number, number, number, 'same' | 'valid', number]>) {
      const info = tf.backend_util.computeConv2DInfo([b, h, h, ci], [k, k, ci, co], st, dil, pad);
      const dyv = seededArray(b * co, info.outShape.reduce((p, q) => p * q));
      const fv = seededArray(ci + co, k * k * ci * co);
      // cpu ignores dilations: its reference is the equivalent undilated filter (zeros between taps).
      const e = (k - 1) * dil + 1;
      const ev = new Float32Array(e * e * ci * co);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) ev.set(fv.subarray((i * k + j) * ci * co, (i * k + j + 1) * ci * co), (i * dil * e + j * dil) * ci * co);
      const run = (be: string, f: Float32Array, fk: number, d: number) =>
        onBackend(be, () =>
          tf.tidy(() =>
            tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor(dyv, info.outShape), filter: tf.tensor4d(f, [fk, fk, ci, co]) }, { strides: st, dilations: d, pad, dataFormat: 'NHWC', inputShape: [b, h, h, ci] }) as tf.Tensor,
          ),
        );
      const cpu = await run('cpu', ev, e, 1);
      await withHook(setDirectInputGrad, true, async () => expectCloseToScale(await run('wasm', fv, k, dil), cpu));
    }
    // Where it is chosen: strides, or 3x3 and wider with 16 or more input channels; not a 1x1 stride-1 product.
    const info = (h: number, ci: number, k: number, st: number) => tf.backend_util.computeConv2DInfo([128, h, h, ci], [k, k, ci, 16], st, 1, 'same');
    expect(directInputGradWins(info(32, 16, 3, 2))).toBe(true);
    expect(directInputGradWins(info(32, 16, 1, 2))).toBe(true);
    expect(directInputGradWins(info(8, 64, 3, 1))).toBe(true);
    expect(directInputGradWins(info(16, 8, 1, 1))).toBe(false);
    expect(directInputGradWins(info(16, 64, 1, 1))).toBe(false);
    expect(directInputGradWins(info(32, 8, 3, 1))).toBe(false);
    // im2col for the filter gradient: narrow outputs of wide layers only, fewer of them with the SIMD threads.
    const fg = (h: number, ci: number) => tf.backend_util.computeConv2DInfo([128, h, h, ci], [3, 3, ci, ci], 1, 1, 'same');
    expect(im2colFilterGradWins(fg(4, 256))).toBe(true);
    expect(im2colFilterGradWins(fg(2, 32))).toBe(true);
    expect(im2colFilterGradWins(fg(4, 16))).toBe(false);
    expect(im2colFilterGradWins(fg(8, 256))).toBe(false);
    expect(im2colFilterGradWins(fg(4, 256), true)).toBe(true);
    expect(im2colFilterGradWins(fg(2, 256), true)).toBe(false);
    expect(im2colFilterGradWins(fg(4, 512), true)).toBe(false);
  });

  it('dilated conv2d forward matches cpu (tf.grad of it is refused by tfjs itself: no dilated conv2d gradient reaches the kernels)', async () => {
    const xv = seededArray(5, 2 * 9 * 9 * 3);
    const fv = seededArray(6, 3 * 3 * 3 * 4);
    const fwd = (be: string) => onBackend(be, () => tf.tidy(() => tf.conv2d(tf.tensor4d(xv, [2, 9, 9, 3]), tf.tensor4d(fv, [3, 3, 3, 4]), 1, 'same', 'NHWC', 2)));
    expectCloseToScale(await fwd('wasm'), await fwd('cpu'));
  });
});

describe('Depthwise backprop kernels on wasm match cpu', () => {
  it('on random shapes, strides, dilations, paddings and multipliers', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(geometry, async (g) => {
        const pad: Pad = g.padKind === 'explicit' ? [[0, 0], [g.pads[0], g.pads[1]], [g.pads[2], g.pads[3]], [0, 0]] : (g.padKind as 'same' | 'valid');
        // tfjs allows strides > 1 or dilations > 1, not both.
        const strides: [number, number] = g.dil > 1 ? [1, 1] : [g.sh, g.sw];
        const dilations: [number, number] = [g.dil, g.dil];
        // Multiplier 1 (the SIMD path) in about half the draws.
        const m = g.co % 2 === 0 ? 1 : Math.min(g.co, 3);
        const xShape: [number, number, number, number] = [g.b, g.h, g.w, g.ci];
        const fShape: [number, number, number, number] = [g.kh, g.kw, g.ci, m];
        let info;
        try {
          info = tf.backend_util.computeConv2DInfo(xShape, fShape, strides, dilations, pad, undefined, true);
        } catch {
          return;
        }
        if (info.outHeight <= 0 || info.outWidth <= 0) return;
        checked++;
        const dyShape = info.outShape;
        const xv = seededArray(g.seed, xShape.reduce((a, b) => a * b));
        const fv = seededArray(g.seed + 1, fShape.reduce((a, b) => a * b));
        const dyv = seededArray(g.seed + 2, dyShape.reduce((a, b) => a * b));
        const attrs = { strides, dilations, pad };
        // The cpu kernels ignore dilations, so the reference uses the equivalent undilated filter
        // (zeros between taps, size (k−1)·d+1): same output, same 'same' padding.
        const d = g.dil;
        const eShape: [number, number, number, number] = [(g.kh - 1) * d + 1, (g.kw - 1) * d + 1, g.ci, m];
        const ev = new Float32Array(eShape.reduce((a, b) => a * b));
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++)
            for (let c = 0; c < g.ci * m; c++) ev[((i * d) * eShape[1] + j * d) * g.ci * m + c] = fv[(i * g.kw + j) * g.ci * m + c] as number;
        const refAttrs = { strides, dilations: [1, 1], pad };
        const filterGrad = (be: string, at: object, shape: number[]) =>
          onBackend(be, () =>
            tf.tidy(() =>
              tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(xv, xShape), dy: tf.tensor(dyv, dyShape) }, { ...at, filterShape: shape }) as tf.Tensor,
            ),
          );
        const inputGrad = (be: string, at: object, f: tf.TensorLike, shape: number[]) =>
          onBackend(be, () =>
            tf.tidy(() =>
              tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(f, shape) }, { ...at, inputShape: xShape }) as tf.Tensor,
            ),
          );
        const refFilter = await filterGrad('cpu', refAttrs, eShape);
        const taps = new Float32Array(fShape.reduce((a, b) => a * b));
        for (let i = 0; i < g.kh; i++)
          for (let j = 0; j < g.kw; j++)
            for (let c = 0; c < g.ci * m; c++) taps[(i * g.kw + j) * g.ci * m + c] = refFilter.values[((i * d) * eShape[1] + j * d) * g.ci * m + c] as number;
        await bothPaths(async () => expectCloseToScale(await filterGrad('wasm', attrs, fShape), { values: taps, shape: fShape }));
        expectCloseToScale(await inputGrad('wasm', attrs, fv, fShape), await inputGrad('cpu', refAttrs, ev, eShape));
      }),
      { seed: 7, numRuns: 50 },
    );
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it('multiplier 1 at MobileNet-like sizes (8-channel SIMD vectors and their tails), on SIMD and JavaScript', async () => {
    for (const [b, h, c, k, st, dil, pad] of [
      [8, 16, 24, 3, 1, 1, 'same'],
      [4, 15, 40, 3, 2, 1, 'same'],
      [2, 9, 13, 3, 1, 2, 'valid'],
      [3, 7, 64, 5, 1, 1, 'same'],
    ] as Array<[number, number, number, number, number, number, 'same' | 'valid']>) {
      const xv = seededArray(b + c, b * h * h * c);
      const info = tf.backend_util.computeConv2DInfo([b, h, h, c], [k, k, c, 1], st, dil, pad, undefined, true);
      const dyv = seededArray(c + 7, info.outShape.reduce((p, q) => p * q));
      const d = dil;
      const e = (k - 1) * d + 1;
      const run = (be: string, kk: number, dd: number) =>
        onBackend(be, () =>
          tf.tidy(() =>
            tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(xv, [b, h, h, c]), dy: tf.tensor(dyv, info.outShape) }, { strides: st, dilations: dd, pad, filterShape: [kk, kk, c, 1] }) as tf.Tensor,
          ),
        );
      const full = await run('cpu', e, 1);
      const taps = new Float32Array(k * k * c);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let q = 0; q < c; q++) taps[(i * k + j) * c + q] = full.values[(i * d * e + j * d) * c + q] as number;
      await bothPaths(async () => expectCloseToScale(await run('wasm', k, d), { values: taps, shape: [k, k, c, 1] }));
    }
  });
});
