import { getKernel, type backend_util, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset, runParts, simdKernels, simdPool, splitParts, splitRange, withScratch, type SimdKernels } from './simd';

/** Minimal view of the wasm backend that kernels need (refcounted data ids). */
export interface WasmBackendLike extends KernelBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

/**
 * Runs registered wasm kernels on {@link TensorInfo}s from inside another kernel and frees every
 * intermediate on {@link WasmOps.dispose}. Results passed to {@link WasmOps.keep} survive.
 *
 * @internal
 */
export class WasmOps {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: WasmBackendLike) {}

  /** Runs kernel `name` on the wasm backend; the result is freed by {@link dispose} unless kept. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
    const kernel = getKernel(name, 'wasm');
    if (kernel == null) throw new Error(`@trainkit/backend: the wasm backend has no ${name} kernel`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend } as never) as TensorInfo;
    this.temps.push(out);
    return out;
  }

  /** Runs a kernel with several inputs given as an array (Pack, Concat, AddN). */
  runList(name: string, inputs: TensorInfo[], attrs: object = {}): TensorInfo {
    return this.run(name, inputs as unknown as Record<string, TensorInfo>, attrs);
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /**
   * Spatial window of a 4-D tensor: `[:, b1:b1+s1, b2:b2+s2, :]`, copied block by block on the heap
   * (stock Slice first copies the whole tensor out of the heap, then loops in JavaScript).
   */
  crop4d(x: TensorInfo, b1: number, b2: number, s1: number, s2: number): TensorInfo {
    const be = this.backend as unknown as {
      makeOutput(shape: number[], dtype: string): TensorInfo;
      typedArrayFromHeap(t: TensorInfo): Float32Array;
    };
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = be.makeOutput([n, s1, s2, c], x.dtype);
    this.temps.push(out);
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out);
    const len = s2 * c;
    let o = 0;
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < s1; r++) {
        const from = ((i * h + b1 + r) * w + b2) * c;
        dst.set(src.subarray(from, from + len), o);
        o += len;
      }
    }
    return out;
  }

  /**
   * Samples [b0, b0 + n) of an NHWC tensor with the batch moved innermost and the spatial axes cut to
   * `hc` x `wc`: `out[c, h, w, b] = x[b0 + b, h, w, c]`, in one pass on the heap (wasm SIMD 4x4
   * transposes; JavaScript without SIMD). tfjs' Transpose of this permutation, plus a slice, took ~7x longer.
   */
  batchToChannels(x: TensorInfo, b0: number, n: number, hc: number, wc: number): TensorInfo {
    const be = this.heap();
    const [, h, w, c] = x.shape as [number, number, number, number];
    const out = be.makeOutput([c, hc, wc, n], x.dtype);
    this.temps.push(out);
    const simd = x.dtype === 'float32' ? simdKernels(this.backend) : null;
    if (simd != null) {
      simd.batch_to_channels(heapOffset(this.backend, x), heapOffset(this.backend, out), b0, n, h, w, c, hc, wc);
      return out;
    }
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out);
    const plane = hc * wc * n;
    for (let r = 0; r < hc; r++) {
      for (let q = 0; q < wc; q++) {
        const o = (r * wc + q) * n;
        for (let b = 0; b < n; b++) {
          const from = (((b0 + b) * h + r) * w + q) * c;
          for (let k = 0, d = o + b; k < c; k++, d += plane) dst[d] = src[from + k] as number;
        }
      }
    }
    return out;
  }

  /** Samples [b0, b0 + n) of an NHWC tensor as `[H, W, n, C]` (rows of C values moved as blocks). */
  batchToRows(x: TensorInfo, b0: number, n: number): TensorInfo {
    const be = this.heap();
    const [, h, w, c] = x.shape as [number, number, number, number];
    const out = be.makeOutput([h, w, n, c], x.dtype);
    this.temps.push(out);
    const hw = h * w;
    const simd = x.dtype === 'float32' ? simdKernels(this.backend) : null;
    if (simd != null) {
      simd.batch_to_rows(heapOffset(this.backend, x), heapOffset(this.backend, out), b0, n, hw, c);
      return out;
    }
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out);
    for (let b = 0; b < n; b++) {
      let from = (b0 + b) * hw * c;
      for (let p = 0; p < hw; p++, from += c) {
        const to = (p * n + b) * c;
        for (let k = 0; k < c; k++) dst[to + k] = src[from + k] as number;
      }
    }
    return out;
  }

  /** `out[i, j] = Σ_r a[r, i] · b[r, j]` over `p` rows (a: [p, m], b: [p, n]), by the SIMD kernel, shaped `shape`. */
  gemmTN(a: TensorInfo, b: TensorInfo, p: number, m: number, n: number, shape: number[]): TensorInfo {
    const pa = heapOffset(this.backend, a);
    const pb = heapOffset(this.backend, b);
    return this.splitTotals('gemm_tn', p, m * n, 0, shape, (r0, rows, acc) => [pa + r0 * m * 4, pb + r0 * n * 4, acc, rows, m, n]);
  }

  /** Filter gradient `[KH, KW, Ci, Co]` by the SIMD kernel, x and dy read in place (float64 totals). */
  filterGradDirect(x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
    const [B, H, W, Ci] = x.shape as [number, number, number, number];
    const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, outChannels: Co } = info;
    const n = KH * KW * Ci * Co;
    const px = heapOffset(this.backend, x);
    const pd = heapOffset(this.backend, dy);
    // After each part's float64 totals, the kernel's float32 scratch.
    return this.splitTotals('filter_grad', B, n, n * 4, [KH, KW, Ci, Co], (b0, nb, acc) => [
      px + b0 * H * W * Ci * 4, pd + b0 * OH * OW * Co * 4, acc + n * 8, acc, nb, H, W, Ci, OH, OW, Co, KH, KW,
      info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
    ]);
  }

  /** Filter gradient `[KH, KW, Ci, Co]` as patches (im2col, by sample over the SIMD threads) times dy, by {@link gemmTN}. */
  filterGradIm2col(x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
    const [B, H, W, Ci] = x.shape as [number, number, number, number];
    const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, outChannels: Co } = info;
    const K = KH * KW * Ci;
    const cols = this.heap().makeOutput([B * OH * OW, K], 'float32');
    this.temps.push(cols);
    const px = heapOffset(this.backend, x);
    const pc = heapOffset(this.backend, cols);
    runParts(this.backend, 'im2col', B, splitParts(this.backend, B, OH * OW * K), (b0, nb) => [
      px + b0 * H * W * Ci * 4, pc + b0 * OH * OW * K * 4, nb, H, W, Ci, OH, OW, KH, KW,
      info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
    ]);
    const out = this.gemmTN(cols, dy, B * OH * OW, K, Co, [KH, KW, Ci, Co]);
    this.free(cols);
    return out;
  }

  /** Input gradient `[B, H, W, Ci]` by the SIMD gather kernel (dy read in place, the batch split across threads). */
  inputGradDirect(dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
    const simd = this.simd('inputGradDirect');
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co } = info;
    const { filterHeight: KH, filterWidth: KW } = info;
    const out = this.heap().makeOutput([B, H, W, Ci], 'float32');
    this.temps.push(out);
    withScratch(this.backend, KH * KW * Ci * Co * 4, (wt) => {
      simd.swap_channels(heapOffset(this.backend, filter), wt, KH * KW, Ci, Co);
      const pd = heapOffset(this.backend, dy);
      const px = heapOffset(this.backend, out);
      runParts(this.backend, 'input_grad', B, simdPool(this.backend)?.size ?? 1, (b0, nb) => [
        pd + b0 * OH * OW * Co * 4, wt, px + b0 * H * W * Ci * 4, nb, H, W, Ci, OH, OW, Co, KH, KW,
        info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
      ]);
    });
    return out;
  }

  /**
   * Runs SIMD kernel `fn` over `items` (samples or rows) split across {@link simdPool}'s threads: part k gets its
   * range and its own zeroed block of `totals` float64 totals (+ `extra` scratch bytes); the parts' totals are
   * summed in float64 and returned as a float32 tensor shaped `shape`.
   */
  splitTotals(fn: keyof SimdKernels, items: number, totals: number, extra: number, shape: number[], args: (start: number, count: number, acc: number) => number[]): TensorInfo {
    const parts = splitRange(items, simdPool(this.backend)?.size ?? 1).length;
    const block = Math.ceil((totals * 8 + extra) / 64) * 64; // parts on separate cache lines
    return withScratch(this.backend, block * parts, (ptr, wasm) => {
      runParts(this.backend, fn, items, parts, (start, count, k) => args(start, count, ptr + k * block));
      const out = this.heap().makeOutput(shape, 'float32');
      this.temps.push(out);
      const dst = this.heap().typedArrayFromHeap(out);
      const f64 = wasm.HEAPF64;
      if (parts === 1) {
        dst.set(f64.subarray(ptr / 8, ptr / 8 + totals));
        return out;
      }
      for (let i = 0; i < totals; i++) {
        let s = 0;
        for (let k = 0; k < parts; k++) s += f64[(ptr + k * block) / 8 + i] as number;
        dst[i] = s;
      }
      return out;
    });
  }

  private simd(what: string): SimdKernels {
    const simd = simdKernels(this.backend);
    if (simd == null) throw new Error(`@trainkit/backend: ${what} needs the wasm SIMD kernels`);
    return simd;
  }

  private heap(): { makeOutput(shape: number[], dtype: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array } {
    return this.backend as unknown as { makeOutput(shape: number[], dtype: string): TensorInfo; typedArrayFromHeap(t: TensorInfo): Float32Array };
  }

  /** Zero-pads `x`. */
  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Frees intermediates now (before {@link dispose}) to keep a kernel's peak heap down. */
  free(...ts: TensorInfo[]): void {
    for (const t of ts) {
      const i = this.temps.lastIndexOf(t);
      if (i < 0) continue;
      this.temps.splice(i, 1);
      this.backend.disposeData(t.dataId);
    }
  }

  /** Removes `t` from the free list: the caller now owns it. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    return t;
  }

  /** Frees every intermediate not kept. */
  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
  }
}

/** Runs `fn` with a fresh {@link WasmOps}, keeps its result and frees everything else, also on error. */
export function withOps(backend: unknown, fn: (ops: WasmOps) => TensorInfo): TensorInfo {
  const ops = new WasmOps(backend as WasmBackendLike);
  try {
    return ops.keep(fn(ops));
  } finally {
    ops.dispose();
  }
}
