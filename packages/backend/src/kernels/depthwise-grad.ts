import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { withOps, type WasmOps } from '../internal/wasm-ops';
import { heapOffset, simdKernels } from '../internal/simd';
import { dilateSpatial, fullCorrelationInput } from './conv2d-grad';

type Conv2DInfo = backend_util.Conv2DInfo;

interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * Filter gradient of a depthwise convolution with channel multiplier M:
 * dW[kh,kw,c,m] = Σ_{b,oh,ow} x[b, oh·s + kh·d − pT, ow·s + kw·d − pL, c] · dy[b,oh,ow,c·M + m],
 * in one pass on the wasm heap: wasm SIMD for multiplier 1 (float32 sums per sample, float64 across
 * samples); otherwise JavaScript, where each output pixel's dy row is multiplied into every tap's
 * accumulator row (float64). No window copies or full-size products.
 *
 * @internal
 */
export function depthwiseFilterGrad(backend: unknown, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const CM = info.outChannels;
  const M = CM / C;
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  const be = backend as HeapBackend;
  const simd = M === 1 ? simdKernels(backend) : null;
  if (simd != null) {
    // wasm SIMD: float32 sums over one sample's pixels, float64 across samples; the batch split across threads.
    const px = heapOffset(backend, x);
    const pd = heapOffset(backend, dy);
    return withOps(backend, (ops) =>
      ops.splitTotals('depthwise_filter_grad', B, KH * KW * CM, 0, [KH, KW, C, M], (b0, nb, acc) => [
        px + b0 * H * W * C * 4, pd + b0 * OH * OW * CM * 4, acc, nb, H, W, C, OH, OW, KH, KW, sh, sw, dh, dw, pT, pL,
      ]),
    );
  }
  const xv = be.typedArrayFromHeap(x);
  const dyv = be.typedArrayFromHeap(dy);
  const acc = new Float64Array(KH * KW * CM);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const d0 = ((b * OH + oh) * OW + ow) * CM;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh + kh * dh - pT;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw + kw * dw - pL;
            if (iw < 0 || iw >= W) continue;
            const x0 = ((b * H + ih) * W + iw) * C;
            const a0 = (kh * KW + kw) * CM;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[a0 + c] = (acc[a0 + c] as number) + (xv[x0 + c] as number) * (dyv[d0 + c] as number);
            } else {
              for (let c = 0; c < C; c++) {
                const xc = xv[x0 + c] as number;
                for (let m = 0; m < M; m++) {
                  const j = c * M + m;
                  acc[a0 + j] = (acc[a0 + j] as number) + xc * (dyv[d0 + j] as number);
                }
              }
            }
          }
        }
      }
    }
  }
  const out = be.makeOutput([KH, KW, C, M], 'float32');
  be.typedArrayFromHeap(out).set(acc);
  return out;
}

/**
 * Input gradient of a depthwise convolution: a depthwise correlation of the stride-dilated output
 * gradient (C·M channels) with the flipped filter, then a sum over the multiplier M.
 *
 * @internal
 */
export function depthwiseInputGrad(ops: WasmOps, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const [KH, KW, C, M] = filter.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { batchSize: B, inHeight: H, inWidth: W } = info;
  const dyd = dilateSpatial(ops, dy, [sh, sw]);
  const eff: [number, number] = [(KH - 1) * dh + 1, (KW - 1) * dw + 1];
  const { t, pad } = fullCorrelationInput(ops, dyd, info.padInfo, eff, [H, W]);
  const flipped = ops.run('Reverse', { x: filter }, { dims: [0, 1] });
  const f = ops.reshape(flipped, [KH, KW, C * M, 1]);
  const g = ops.run(
    'DepthwiseConv2dNative',
    { x: t, filter: f },
    { strides: [1, 1], dilations: [dh, dw], pad, dataFormat: 'NHWC' },
  ); // [B, H, W, C*M]
  if (M === 1) return g;
  return ops.run('Sum', { x: ops.reshape(g, [B, H, W, C, M]) }, { axis: [4], keepDims: false });
}

function backpropFilter({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
  );
  return depthwiseFilterGrad(backend, x, dy, info);
}

function backpropInput({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    true,
  );
  return withOps(backend, (ops) => depthwiseInputGrad(ops, dy, filter, info));
}

/** wasm `DepthwiseConv2dNativeBackpropFilter` (NHWC; strides, padding, dilations, multipliers). */
export const depthwiseConv2dNativeBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: backpropFilter as KernelFunc,
};

/** wasm `DepthwiseConv2dNativeBackpropInput` (NHWC; strides, padding, dilations, multipliers). */
export const depthwiseConv2dNativeBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: backpropInput as KernelFunc,
};
