import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { markOurs, stockKernel } from '../internal/stock';
import { withOps } from '../internal/wasm-ops';

function isSingleMatrix(t: TensorInfo): boolean {
  return t.shape.length >= 2 && t.shape.slice(0, -2).every((d) => d === 1);
}

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * wasm's BatchMatMul runs XNNPACK only for untransposed operands with batch 1 and a scalar blocked
 * loop otherwise, which is what the gradients of a dense layer ask for (xᵀ·dy and dy·Wᵀ). This
 * transposes the operands explicitly (cheap, memory-bound) and calls the XNNPACK path.
 */
function batchMatMul(args: Parameters<KernelFunc>[0]): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const stock = stockKernel(BatchMatMul);
  // XNNPACK serves only batch 1 (every leading dim 1), the case of dense layers.
  const fast = (transposeA || transposeB) && isSingleMatrix(a) && isSingleMatrix(b);
  if (!fast) return stock(args) as TensorInfo;
  const impl = stock;
  return withOps(backend, (ops) => {
    const at = transposeA ? ops.transpose(a, swapLast(a.shape.length)) : a;
    const bt = transposeB ? ops.transpose(b, swapLast(b.shape.length)) : b;
    const out = impl({ inputs: { a: at, b: bt }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    return out;
  });
}

/** wasm `BatchMatMul` that keeps transposed products on XNNPACK. */
export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: markOurs(batchMatMul as KernelFunc),
};
