import { Greater, GreaterEqual, Less, LessEqual, LogicalAnd, Select, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { markOurs, stockKernel } from '../internal/stock';
import { heapOffset, simdKernels } from '../internal/simd';

interface OutBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
}

const sameShape = (a: TensorInfo, b: TensorInfo) => util.arraysEqual(a.shape, b.shape);

/**
 * float32 comparisons of same-shape tensors, or of a tensor with a one-element one (the clipByValue /
 * ReLU6 gradient compares every activation with a scalar), in one wasm SIMD pass; anything else (other
 * broadcasts, int32, no SIMD) goes to the stock kernel.
 */
function compare(kernel: string, op: number): KernelFunc {
  return markOurs((args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const simd = simdKernels(args.backend);
    const scalarB = util.sizeFromShape(b.shape) === 1 && b.shape.length <= a.shape.length;
    if (simd == null || a.dtype !== 'float32' || b.dtype !== 'float32' || !(sameShape(a, b) || scalarB)) return stockKernel(kernel)(args);
    const out = (args.backend as unknown as OutBackend).makeOutput(a.shape.slice(), 'bool');
    const n = util.sizeFromShape(a.shape);
    simd.compare_f32(heapOffset(args.backend, a), heapOffset(args.backend, b), heapOffset(args.backend, out), n, sameShape(a, b) ? 1 : 0, op);
    return out;
  });
}

const logicalAnd = markOurs((args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const simd = simdKernels(args.backend);
  if (simd == null || a.dtype !== 'bool' || b.dtype !== 'bool' || !sameShape(a, b)) return stockKernel(LogicalAnd)(args);
  const out = (args.backend as unknown as OutBackend).makeOutput(a.shape.slice(), 'bool');
  simd.and_u8(heapOffset(args.backend, a), heapOffset(args.backend, b), heapOffset(args.backend, out), util.sizeFromShape(a.shape));
  return out;
});

const select = markOurs((args) => {
  const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  const simd = simdKernels(args.backend);
  if (simd == null || condition.dtype !== 'bool' || t.dtype !== 'float32' || e.dtype !== 'float32' || !sameShape(condition, t) || !sameShape(t, e)) {
    return stockKernel(Select)(args);
  }
  const out = (args.backend as unknown as OutBackend).makeOutput(t.shape.slice(), 'float32');
  simd.select_f32(heapOffset(args.backend, condition), heapOffset(args.backend, t), heapOffset(args.backend, e), heapOffset(args.backend, out), util.sizeFromShape(t.shape));
  return out;
});

/** wasm `GreaterEqual` (SIMD for float32, same shape or vs a scalar). */
export const greaterEqualConfig: KernelConfig = { kernelName: GreaterEqual, backendName: 'wasm', kernelFunc: compare(GreaterEqual, 0) };
/** wasm `LessEqual` (SIMD for float32, same shape or vs a scalar). */
export const lessEqualConfig: KernelConfig = { kernelName: LessEqual, backendName: 'wasm', kernelFunc: compare(LessEqual, 1) };
/** wasm `Greater` (SIMD for float32, same shape or vs a scalar). */
export const greaterConfig: KernelConfig = { kernelName: Greater, backendName: 'wasm', kernelFunc: compare(Greater, 2) };
/** wasm `Less` (SIMD for float32, same shape or vs a scalar). */
export const lessConfig: KernelConfig = { kernelName: Less, backendName: 'wasm', kernelFunc: compare(Less, 3) };
/** wasm `LogicalAnd` (SIMD for same-shape bools). */
export const logicalAndConfig: KernelConfig = { kernelName: LogicalAnd, backendName: 'wasm', kernelFunc: logicalAnd };
/** wasm `Select` (`tf.where`; SIMD when condition, t and e share one shape and t, e are float32). */
export const selectConfig: KernelConfig = { kernelName: Select, backendName: 'wasm', kernelFunc: select };
