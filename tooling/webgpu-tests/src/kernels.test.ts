// The training kernels (conv, depthwise and max-pool gradients) on webgpu against cpu, on random tiny geometries.
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { seededArray, tf } from '@trainkit/test-utils';
import { expectCrossBackendClose, onCpuAndWebgpu } from './both';

const RUNS = { seed: 14, numRuns: 20 } as const; // SwiftShader compiles a shader per new shape: keep it short

const geometry = fc.record({
  b: fc.integer({ min: 1, max: 2 }),
  h: fc.integer({ min: 1, max: 7 }),
  w: fc.integer({ min: 1, max: 7 }),
  ci: fc.integer({ min: 1, max: 4 }),
  co: fc.integer({ min: 1, max: 4 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 2 }),
  pad: fc.constantFrom('same' as const, 'valid' as const),
  seed: fc.integer({ min: 1, max: 1e6 }),
});
type Geometry = typeof geometry extends fc.Arbitrary<infer G> ? G : never;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** One kernel on both backends from the same seeded inputs; false (nothing checked) for a geometry with an empty output. */
async function compare(g: Geometry, depthwise: boolean): Promise<boolean> {
  const xShape: [number, number, number, number] = [g.b, g.h, g.w, g.ci];
  const fShape: [number, number, number, number] = [g.kh, g.kw, g.ci, depthwise ? 1 : g.co];
  let info;
  try {
    info = tf.backend_util.computeConv2DInfo(xShape, fShape, [g.s, g.s], 1, g.pad, undefined, depthwise);
  } catch {
    return false;
  }
  if (info.outHeight <= 0 || info.outWidth <= 0) return false;
  const dyShape = info.outShape;
  const xv = seededArray(g.seed, size(xShape));
  const fv = seededArray(g.seed + 1, size(fShape));
  const dyv = seededArray(g.seed + 2, size(dyShape));
  const attrs = { strides: [g.s, g.s], pad: g.pad, dilations: [1, 1], dataFormat: 'NHWC' };
  const [filterKernel, inputKernel] = depthwise
    ? ['DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']
    : ['Conv2DBackpropFilter', 'Conv2DBackpropInput'];
  const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
    const x = tf.tensor4d(xv, xShape);
    const f = tf.tensor4d(fv, fShape);
    const dy = tf.tensor(dyv, dyShape);
    const df = tf.engine().runKernel(filterKernel, { x, dy }, { ...attrs, filterShape: fShape }) as tf.Tensor;
    const dx = tf.engine().runKernel(inputKernel, { dy, filter: f }, { ...attrs, inputShape: xShape }) as tf.Tensor;
    const out = [Float32Array.from(await df.data()), Float32Array.from(await dx.data())];
    tf.dispose([x, f, dy, df, dx]);
    return out;
  });
  expectCrossBackendClose(webgpu, cpu, `${filterKernel}/${inputKernel} ${JSON.stringify(g)}`);
  return true;
}

describe('training kernels on webgpu match cpu (1e-3)', () => {
  it('Conv2DBackpropFilter and Conv2DBackpropInput on random shapes, strides and paddings', async () => {
    await fc.assert(fc.asyncProperty(geometry, (g) => compare(g, false).then(() => undefined)), RUNS);
  });

  it('DepthwiseConv2dNativeBackpropFilter and ...BackpropInput on random shapes, strides and paddings', async () => {
    await fc.assert(fc.asyncProperty(geometry, (g) => compare(g, true).then(() => undefined)), RUNS);
  });

  it('MaxPoolGrad (the gradient of maxPool) on random shapes, windows and strides', async () => {
    await fc.assert(
      fc.asyncProperty(geometry, async (g) => {
        const xShape: [number, number, number, number] = [g.b, g.h, g.w, g.ci];
        const window: [number, number] = [Math.min(g.kh, g.h), Math.min(g.kw, g.w)];
        const xv = seededArray(g.seed, size(xShape));
        const { cpu, webgpu } = await onCpuAndWebgpu(async () => {
          const x = tf.tensor4d(xv, xShape);
          const dx = tf.grad((t) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, window, g.s, g.pad), 1.5)))(x);
          const out = [Float32Array.from(await dx.data())];
          tf.dispose([x, dx]);
          return out;
        });
        expectCrossBackendClose(webgpu, cpu, `MaxPoolGrad ${JSON.stringify(g)}`);
      }),
      RUNS,
    );
  });
});
