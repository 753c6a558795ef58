import { Tile, util, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs } from '@tensorflow/tfjs-core';
import { markOurs, stockKernel } from '../internal/stock';

interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Tile by block copies inside the output buffer: x is written compactly at the start, then each
 * axis (innermost first) is expanded in place, last outer block first, so no unread data is
 * overwritten. Batch-norm's gradient tiles a per-channel vector to the activation's shape, which
 * stock wasm does element by element.
 */
const tile = markOurs((args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { reps } = args.attrs as unknown as TileAttrs;
  if (x.dtype === 'string' || x.dtype === 'complex64') return stockKernel(Tile)(args);
  const be = args.backend as unknown as HeapBackend;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * (reps[i] as number));
  const out = be.makeOutput(outShape, x.dtype);
  const dst = be.typedArrayFromHeap(out);
  const src = be.typedArrayFromHeap(x);
  if (dst.length === 0) return out;
  dst.set(src as never);
  const cur = x.shape.slice();
  for (let a = rank - 1; a >= 0; a--) {
    const k = reps[a] as number;
    if (k === 1) continue;
    const outer = util.sizeFromShape(cur.slice(0, a));
    const blk = util.sizeFromShape(cur.slice(a));
    for (let o = outer - 1; o >= 0; o--) {
      const from = o * blk;
      const to = o * blk * k;
      for (let j = k - 1; j >= 0; j--) dst.copyWithin(to + j * blk, from, from + blk);
    }
    cur[a] = (cur[a] as number) * k;
  }
  return out;
});

/** wasm `Tile` by block copies. */
export const tileConfig: KernelConfig = { kernelName: Tile, backendName: 'wasm', kernelFunc: tile as KernelFunc };
