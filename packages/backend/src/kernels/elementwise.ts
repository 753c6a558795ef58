import {
  Cast,
  Identity,
  Mean,
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { markOurs, stockKernel } from '../internal/stock';

interface RefBackend {
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** Same-dtype Identity/Cast share the (immutable) buffer, as the cpu backend does, instead of copying it. */
function share(x: TensorInfo, backend: unknown): TensorInfo {
  (backend as RefBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

const identity = markOurs((args) => {
  const { x } = args.inputs as { x: TensorInfo };
  if (x.dtype === 'string') return stockKernel(Identity)(args);
  return share(x, args.backend);
});

const cast = markOurs((args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { dtype } = args.attrs as { dtype: string };
  if (dtype === x.dtype && x.dtype !== 'string' && x.dtype !== 'complex64') return share(x, args.backend);
  return stockKernel(Cast)(args);
});

/**
 * Sum (or mean) over leading axes (bias and batch-norm reductions: [B,H,W,C] → [C]) as one
 * streaming pass instead of stock wasm's transpose-then-reduce; other reductions go to the stock kernel.
 */
function leadingReduce(kernel: string, mean: boolean) {
  return markOurs((args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as SumAttrs;
    const rank = x.shape.length;
    const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return stockKernel(kernel)(args);
    const be = args.backend as unknown as RefBackend;
    const rest = x.shape.slice(axes.length);
    const n = util.sizeFromShape(x.shape.slice(0, axes.length));
    const c = util.sizeFromShape(rest);
    const outShape = keepDims ? [...axes.map(() => 1), ...rest] : rest;
    const out = be.makeOutput(outShape, 'float32');
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out);
    const acc = new Float64Array(c);
    // Four rows per pass: a third fewer accumulator loads/stores than one row at a time.
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const b0 = i * c;
      const b1 = b0 + c;
      const b2 = b1 + c;
      const b3 = b2 + c;
      for (let j = 0; j < c; j++) {
        acc[j] = (acc[j] as number) + ((src[b0 + j] as number) + (src[b1 + j] as number) + (src[b2 + j] as number) + (src[b3 + j] as number));
      }
    }
    for (; i < n; i++) {
      const base = i * c;
      for (let j = 0; j < c; j++) acc[j] = (acc[j] as number) + (src[base + j] as number);
    }
    if (mean) for (let j = 0; j < c; j++) acc[j] = (acc[j] as number) / n;
    dst.set(acc);
    return out;
  });
}

const sum = leadingReduce(Sum, false);
const mean = leadingReduce(Mean, true);

/** wasm `Identity` that shares the buffer (stock copies it). */
export const identityConfig: KernelConfig = { kernelName: Identity, backendName: 'wasm', kernelFunc: identity as KernelFunc };
/** wasm `Cast` that shares the buffer when the dtype does not change. */
export const castConfig: KernelConfig = { kernelName: Cast, backendName: 'wasm', kernelFunc: cast as KernelFunc };
/** wasm `Mean` with a one-pass path for leading-axes reductions. */
export const meanConfig: KernelConfig = { kernelName: Mean, backendName: 'wasm', kernelFunc: mean as KernelFunc };
/** wasm `Sum` with a one-pass path for leading-axes reductions. */
export const sumConfig: KernelConfig = { kernelName: Sum, backendName: 'wasm', kernelFunc: sum as KernelFunc };
