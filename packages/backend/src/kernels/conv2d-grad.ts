import {
  backend_util,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { withOps, type WasmOps } from '../internal/wasm-ops';
import { simdKernels, simdPool, wasmThreaded } from '../internal/simd';

type Conv2DInfo = backend_util.Conv2DInfo;

/** Pair of spatial (height, width) numbers. */
type Pair = [number, number];

function checkNhwc(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(`@trainkit/backend: wasm ${kernel} supports only dataFormat 'NHWC', got '${dataFormat}'`);
  }
}

/**
 * Weight gradient of a (grouped-free) 2-D convolution, computed as one forward convolution.
 *
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} x[b, oh·s + kh·d − pT, ow·s + kw·d − pL, ci] · dy[b,oh,ow,co]
 * which is conv2d(x transposed to [Ci,H,W,B], dy transposed to [OH,OW,B,Co]) with stride d and
 * dilation s: the roles of stride and dilation swap, batch becomes the contracted channel axis.
 *
 * @internal
 */
export function conv2dFilterGrad(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const p = info.padInfo;
  if (info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && p.top === 0 && p.left === 0 && info.outHeight === H && info.outWidth === W) {
    // A 1x1 stride-1 convolution is a matrix product: dW = xᵀ·dy over the B·H·W pixels (XNNPACK GEMM),
    // where the convolution form would be one 1x1 output with an OH x OW "filter".
    // wasm SIMD does the product straight from both NHWC tensors (no transpose, no packing; float64 totals).
    if (x.dtype === 'float32' && simdKernels(ops.backend) != null) return ops.gemmTN(x, dy, B * H * W, Ci, info.outChannels, [1, 1, Ci, info.outChannels]);
    const g = ops.run('BatchMatMul', { a: ops.reshape(x, [1, B * H * W, Ci]), b: ops.reshape(dy, [1, B * H * W, info.outChannels]) }, { transposeA: true, transposeB: false });
    return ops.reshape(g, [1, 1, Ci, info.outChannels]);
  }
  if (x.dtype === 'float32' && simdKernels(ops.backend) != null && directFilterGradWins(Ci, info.outWidth, wasmThreaded(ops.backend) && simdPool(ops.backend) == null, info.filterHeight * info.filterWidth * Ci * info.outChannels)) {
    return ops.filterGradDirect(x, dy, info);
  }
  if (x.dtype === 'float32' && simdKernels(ops.backend) != null && (im2colFilterGrad ?? im2colFilterGradWins(info, simdPool(ops.backend) != null)) && B * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * Ci <= IM2COL_MAX_FLOATS) {
    return ops.filterGradIm2col(x, dy, info);
  }
  // The batch is the reduction axis of this convolution. One huge reduction streams the whole
  // packed dy per output tile (cache-missing); chunks of the batch keep it in cache, and the
  // partial filters are summed (AddN).
  const chunk = filterGradChunk(info);
  if (chunk >= B) return filterGradChunked(ops, x, dy, 0, B, info);
  const parts: TensorInfo[] = [];
  for (let b0 = 0; b0 < B; b0 += chunk) parts.push(filterGradChunked(ops, x, dy, b0, Math.min(chunk, B - b0), info));
  return ops.runList('AddN', parts);
}

/**
 * Whether trainkit's SIMD filter gradient beats XNNPACK's convolution form, which re-packs all of dy on every call,
 * single-threaded. Measured (batch 128, 1 thread, CPU ms, SIMD vs XNNPACK): 28x28x1→16 1.3 vs 12.4, 32x32x3→16 9.0 vs
 * 22.9, 32x32x16→16 22 vs 51, 16x16x32→32 30 vs 40, 8x8x64→64 25 vs 37, 8x8x128→256 259 vs 270, 4x4x256→256 154 vs
 * 125, 2x2x256→256 58 vs 32; with 2 XNNPACK threads (wall ms) 32x32x16→16 25 vs 47, 16x16x32→32 25 vs 40, 32x32x16→32
 * stride 2 15 vs 28. Narrow outputs reload the accumulators (`accFloats` = KH·KW·Ci·Co) too often; with XNNPACK's
 * threads (shared memory) 8 columns win only while the accumulators stay in L2.
 *
 * @internal
 */
export function directFilterGradWins(ci: number, outWidth: number, threaded: boolean, accFloats = 0): boolean {
  return ci <= 4 || outWidth >= 16 || (outWidth >= 8 && (!threaded || accFloats <= 1 << 16));
}

let chunkBytes = 1 << 22;
let im2colFilterGrad: boolean | undefined;
/** The patches of the im2col filter gradient stay under 64 MiB. */
const IM2COL_MAX_FLOATS = 1 << 24;

/**
 * Whether the patches (im2col) times dy by trainkit's SIMD product beats XNNPACK's convolution form, where the direct
 * kernel does not (outputs under 8 columns wide). Measured at batch 128, 3x3 'same' (ms, im2col + product vs XNNPACK,
 * two runs each): one thread 4x4x32→32 2.5 vs 3.7, 4x4x64→64 10 vs 14, 2x2x64→128 4.7 vs 6.9, 4x4x128→256 57–76 vs
 * 79–88, 4x4x256→256 129–153 vs 138–167, 2x2x256→256 28–30 vs 39–46, 4x4x512→512 568–591 vs 704–718; with the SIMD
 * threads (2) 4x4x64→64 5.5–5.8 vs 6–9, 4x4x128→256 44–46 vs 49–65, 4x4x256→256 90 vs 94–97, but 2x2x256→256 33–34 vs
 * 24–25 and 4x4x512→512 350–361 vs 339–346 (XNNPACK's two threads there).
 *
 * @internal
 */
export function im2colFilterGradWins(info: Conv2DInfo, threaded = false): boolean {
  if (info.outWidth >= 8) return false;
  if (!threaded) return info.inChannels >= 32;
  return info.outWidth >= 4 && info.inChannels >= 64 && info.inChannels <= 256;
}

/** Test hook: the im2col filter gradient always (true), never (false) or where it wins (undefined); returns the previous one. @internal */
export function setIm2colFilterGrad(on: boolean | undefined): boolean | undefined {
  const prev = im2colFilterGrad;
  im2colFilterGrad = on;
  return prev;
}
let directInputGrad: boolean | undefined;

/**
 * Test hook: the SIMD input gradient always (true), never (false: XNNPACK's transposed-convolution form), or where
 * it wins (undefined); returns the previous setting. @internal
 */
export function setDirectInputGrad(on: boolean | undefined): boolean | undefined {
  const prev = directInputGrad;
  directInputGrad = on;
  return prev;
}

/**
 * Whether trainkit's SIMD input gradient beats XNNPACK's form (a stride-1 convolution of the zero-dilated dy with the
 * flipped filter). Measured at batch 128 (ms, SIMD vs XNNPACK, 2 threads / 1 thread): stride 2 32x32x16←32 13 vs 28 /
 * 21 vs 78, 16x16x32←64 7 vs 26 / 17 vs 70, 1x1 stride 2 4 vs 11 / 3 vs 15; stride 1 3x3 32x32x16←16 21 vs 20 / 40 vs
 * 41, 16x16x32←32 13 vs 19 / 33 vs 37, 8x8x64←64 10 vs 14 / 28 vs 35, 8x8x128←256 142–190 vs 133–185 / 220–250 vs
 * 239–248, 2x2x256←256 13 vs 50 / 15 vs 45. A 1x1 stride-1 one is a plain product for XNNPACK (16x16x8←48 2.0 vs 1.4),
 * and fewer than 16 input channels miss the kernel's 16-channel blocks.
 *
 * @internal
 */
export function directInputGradWins(info: Conv2DInfo): boolean {
  if (info.strideHeight > 1 || info.strideWidth > 1) return true;
  if (info.filterHeight === 1 && info.filterWidth === 1) return false;
  return info.inChannels >= 16;
}

/** Batch chunk so that one chunk of dy (the packed "filter" of the conv) stays near 4 MiB. @internal */
export function filterGradChunk(info: Conv2DInfo): number {
  const perSample = info.outHeight * info.outWidth * info.outChannels * 4;
  return Math.max(1, Math.floor(chunkBytes / perSample));
}

/** Test hook: the byte budget of one batch chunk of the filter gradient; returns the previous one. @internal */
export function setFilterGradChunkBytes(bytes: number): number {
  const prev = chunkBytes;
  chunkBytes = bytes;
  return prev;
}

function filterGradChunked(ops: WasmOps, x: TensorInfo, dy: TensorInfo, b0: number, n: number, info: Conv2DInfo): TensorInfo {
  const [, H, W, Ci] = x.shape as [number, number, number, number];
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw, outChannels: Co } = info;
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  // Bottom/right padding so the output is exactly KH x KW; negative means rows the forward pass never read.
  let pB = (KH - 1) * dh + (OH - 1) * sh + 1 - H - pT;
  let pR = (KW - 1) * dw + (OW - 1) * sw + 1 - W - pL;
  // Rows the forward pass never read are cropped while transposing.
  const xt = ops.batchToChannels(x, b0, n, H + Math.min(pB, 0), W + Math.min(pR, 0)); // [Ci, H, W, n]
  pB = Math.max(pB, 0);
  pR = Math.max(pR, 0);
  const dyt = ops.batchToRows(dy, b0, n); // [OH, OW, n, Co]
  const g = ops.run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: [
        [0, 0],
        [pT, pB],
        [pL, pR],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  ); // [Ci, KH, KW, Co]
  const out = ops.transpose(g, [1, 2, 0, 3]);
  if (out.shape[0] !== KH || out.shape[1] !== KW || out.shape[2] !== Ci || out.shape[3] !== Co) {
    throw new Error(`@trainkit/backend: Conv2DBackpropFilter shape ${out.shape.join('x')} != ${[KH, KW, Ci, Co].join('x')}`);
  }
  return out;
}

/**
 * Inserts (s − 1) zeros after every element along H and W: [B,OH,OW,C] → [B,OH·sh,OW·sw,C]
 * (the trailing zeros count as extra end padding).
 *
 * @internal
 */
export function dilateSpatial(ops: WasmOps, dy: TensorInfo, s: Pair): TensorInfo {
  const [sh, sw] = s;
  if (sh === 1 && sw === 1) return dy;
  const [B, OH, OW, C] = dy.shape as [number, number, number, number];
  let t = dy;
  if (sh > 1) {
    t = ops.reshape(t, [B, OH, 1, OW * C]);
    t = ops.pad(t, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
    ]);
  }
  if (sw > 1) {
    t = ops.reshape(t, [B * OH * sh, OW, 1, C]);
    t = ops.pad(t, [
      [0, 0],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
  }
  return ops.reshape(t, [B, OH * sh, OW * sw, C]);
}

/**
 * Pads (positive) or crops (negative) the spatial axes of an NHWC tensor so that a stride-1
 * correlation with a filter of effective size `eff` yields `outHW`; returns the tensor and the
 * non-negative explicit pads left for the convolution itself.
 *
 * @internal
 */
export function fullCorrelationInput(
  ops: WasmOps,
  dyd: TensorInfo,
  pads: { top: number; left: number },
  eff: Pair,
  outHW: Pair,
): { t: TensorInfo; pad: [[number, number], [number, number], [number, number], [number, number]] } {
  const [, L1, L2] = dyd.shape as [number, number, number, number];
  let before: Pair = [eff[0] - 1 - pads.top, eff[1] - 1 - pads.left];
  let after: Pair = [outHW[0] + pads.top - L1, outHW[1] + pads.left - L2];
  let t = dyd;
  if (before[0] < 0 || before[1] < 0 || after[0] < 0 || after[1] < 0) {
    const b0 = Math.max(-before[0], 0);
    const b1 = Math.max(-before[1], 0);
    const s0 = L1 - b0 - Math.max(-after[0], 0);
    const s1 = L2 - b1 - Math.max(-after[1], 0);
    t = ops.crop4d(t, b0, b1, s0, s1);
    before = [Math.max(before[0], 0), Math.max(before[1], 0)];
    after = [Math.max(after[0], 0), Math.max(after[1], 0)];
  }
  return {
    t,
    pad: [
      [0, 0],
      [before[0], after[0]],
      [before[1], after[1]],
      [0, 0],
    ],
  };
}

/**
 * Input gradient of a 2-D convolution as one forward convolution: the (zero-dilated by the stride)
 * output gradient correlated with the spatially flipped filter whose in/out channels are swapped.
 *
 * dx[b,h,w,ci] = Σ_{kh,kw,co} dyD[b, h + pT − kh·d, w + pL − kw·d, co] · W[kh,kw,ci,co]
 *
 * @internal
 */
export function conv2dInputGrad(ops: WasmOps, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  if (dy.dtype === 'float32' && (directInputGrad ?? directInputGradWins(info)) && simdKernels(ops.backend) != null) return ops.inputGradDirect(dy, filter, info);
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw, inHeight: H, inWidth: W } = info;
  const dyd = dilateSpatial(ops, dy, [sh, sw]);
  const eff: Pair = [(KH - 1) * dh + 1, (KW - 1) * dw + 1];
  const { t, pad } = fullCorrelationInput(ops, dyd, info.padInfo, eff, [H, W]);
  const flipped = ops.run('Reverse', { x: filter }, { dims: [0, 1] });
  const wt = ops.transpose(flipped, [0, 1, 3, 2]); // [KH, KW, Co, Ci]
  return ops.run('Conv2D', { x: t, filter: wt }, { strides: [1, 1], dilations: [dh, dw], pad, dataFormat: 'NHWC' });
}

function backpropFilter({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs & {
    dilations?: number | Pair;
  };
  checkNhwc(Conv2DBackpropFilter, dataFormat);
  const dilations = (attrs as { dilations?: number | Pair }).dilations ?? 1;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
  );
  return withOps(backend, (ops) => conv2dFilterGrad(ops, x, dy, info));
}

function backpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as Conv2DBackpropInputAttrs;
  checkNhwc(Conv2DBackpropInput, dataFormat);
  const dilations = (attrs as { dilations?: number | Pair }).dilations ?? 1;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
  );
  return withOps(backend, (ops) => conv2dInputGrad(ops, dy, filter, info));
}

/** wasm `Conv2DBackpropFilter` (NHWC; strides, 'same'/'valid'/explicit padding, dilations). */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: backpropFilter as KernelFunc,
};

/** wasm `Conv2DBackpropInput` (NHWC; strides, 'same'/'valid'/explicit padding, dilations). */
export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: backpropInput as KernelFunc,
};
