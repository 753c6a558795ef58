import { getKernel, type KernelBackend, type TensorInfo } from '@tensorflow/tfjs-core';

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

  /** Rows [b0, b0 + n) of axis 0 (contiguous): one copy of just those rows (stock Slice copies all of `x` first). */
  sliceRows(x: TensorInfo, b0: number, n: number): TensorInfo {
    const be = this.backend as unknown as {
      makeOutput(shape: number[], dtype: string): TensorInfo;
      typedArrayFromHeap(t: TensorInfo): Float32Array;
    };
    const row = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = be.makeOutput([n, ...x.shape.slice(1)], x.dtype);
    this.temps.push(out);
    const src = be.typedArrayFromHeap(x);
    be.typedArrayFromHeap(out).set(src.subarray(b0 * row, (b0 + n) * row));
    return out;
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
