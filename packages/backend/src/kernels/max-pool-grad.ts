import { backend_util, MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, simdKernels } from '../internal/simd';

interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * Max-pool input gradient, one pass over the windows on the wasm heap (wasm SIMD, four channels at a
 * time; JavaScript without SIMD): each output's gradient goes to
 * the first maximum of its window (row-major order, as tfjs' cpu kernel), accumulated where windows
 * overlap. O(B·OH·OW·C·kh·kw) with channels innermost.
 *
 * @internal
 */
function maxPoolGrad({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const be = backend as unknown as HeapBackend;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { effectiveFilterHeight: EH, effectiveFilterWidth: EW } = info;
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  const out = be.makeOutput(input.shape.slice(), 'float32');
  // Views only after the allocation above (it may grow the heap and detach older views).
  const dx = be.typedArrayFromHeap(out);
  const x = be.typedArrayFromHeap(input);
  const g = be.typedArrayFromHeap(dy);
  dx.fill(0);
  const simd = input.dtype === 'float32' ? simdKernels(backend) : null;
  if (simd != null) {
    simd.max_pool_grad(heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, out), B, H, W, C, OH, OW, sh, sw, dh, dw, EH, EW, pT, pL);
    return out;
  }
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - pT;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sw - pL;
        best.fill(-Infinity);
        where.fill(-1);
        for (let wr = 0; wr < EH; wr += dh) {
          const h = h0 + wr;
          if (h < 0 || h >= H) continue;
          for (let wc = 0; wc < EW; wc += dw) {
            const w = w0 + wc;
            if (w < 0 || w >= W) continue;
            const base = ((b * H + h) * W + w) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c] as number;
              if (v > (best[c] as number)) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const gBase = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const p = where[c] as number;
          if (p >= 0) dx[p] = (dx[p] as number) + (g[gBase + c] as number);
        }
      }
    }
  }
  return out;
}

/** wasm `MaxPoolGrad` (replaces stock; NHWC, any window/stride/padding). */
export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as KernelFunc,
};
