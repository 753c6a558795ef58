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
import { dilateSpatial, fullCorrelationInput } from './conv2d-grad';

type Conv2DInfo = backend_util.Conv2DInfo;

/**
 * Filter gradient of a depthwise convolution with channel multiplier M:
 * dW[kh,kw,c,m] = Σ_{b,oh,ow} x[b, oh·s + kh·d − pT, ow·s + kw·d − pL, c] · dy[b,oh,ow,c·M + m],
 * one strided window of the padded input per filter tap, multiplied by dy and reduced.
 *
 * @internal
 */
export function depthwiseFilterGrad(ops: WasmOps, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const M = info.outChannels / C;
  const pT = info.padInfo.top;
  const pL = info.padInfo.left;
  const needH = (OH - 1) * sh + (KH - 1) * dh + 1;
  const needW = (OW - 1) * sw + (KW - 1) * dw + 1;
  const xp = ops.pad(x, [
    [0, 0],
    [pT, Math.max(needH - H - pT, 0)],
    [pL, Math.max(needW - W - pL, 0)],
    [0, 0],
  ]);
  const dy5 = ops.reshape(dy, [B, OH, OW, C, M]);
  const taps: TensorInfo[] = [];
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const win = ops.run(
        'StridedSlice',
        { x: xp },
        {
          begin: [0, kh * dh, kw * dw, 0],
          end: [B, kh * dh + (OH - 1) * sh + 1, kw * dw + (OW - 1) * sw + 1, C],
          strides: [1, sh, sw, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        },
      ); // [B, OH, OW, C]
      const win5 = ops.reshape(win, [B, OH, OW, C, 1]);
      const prod = ops.run('Multiply', { a: win5, b: dy5 });
      taps.push(ops.run('Sum', { x: prod }, { axis: [0, 1, 2], keepDims: false })); // [C, M]
      // Each tap's window and product are as large as the activation: free them before the next tap.
      ops.free(win, win5, prod);
    }
  }
  const packed = ops.runList('Pack', taps, { axis: 0 }); // [KH*KW, C, M]
  return ops.reshape(packed, [KH, KW, C, M]);
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
  return withOps(backend, (ops) => depthwiseFilterGrad(ops, x, dy, info));
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
