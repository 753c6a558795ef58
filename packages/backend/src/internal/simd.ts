import type { TensorInfo } from '@tensorflow/tfjs-core';
import { SIMD_MODULES } from './simd-binary';
import { simdPoolFor, type SimdPool } from './simd-pool';

export type { SimdPool } from './simd-pool';

/** trainkit's wasm SIMD helpers (the modules built from wasm/*.c), running in tfjs' own wasm memory. @internal */
export interface SimdKernels {
  bn_stats(x: number, shift: number, s1: number, s2: number, n: number, c: number): void;
  bn_grad_stats(dy: number, x: number, mean: number, sdy: number, sdyx: number, n: number, c: number): void;
  bn_affine(u: number, v: number, m: number, a: number, b: number, k: number, out: number, n: number, c: number): void;
  gemm_tn(x: number, dy: number, acc: number, p: number, ci: number, co: number): void;
  compare_f32(a: number, b: number, out: number, n: number, bStride: number, op: number): void;
  and_u8(a: number, b: number, out: number, n: number): void;
  select_f32(cond: number, a: number, b: number, out: number, n: number): void;
  filter_grad(
    x: number, dy: number, acc32: number, acc64: number, batch: number, h: number, w: number, ci: number, oh: number, ow: number,
    co: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number,
  ): void;
  im2col(
    x: number, cols: number, batch: number, h: number, w: number, ci: number, oh: number, ow: number, kh: number, kw: number,
    sh: number, sw: number, dh: number, dw: number, pt: number, pl: number,
  ): void;
  swap_channels(w: number, wt: number, taps: number, ci: number, co: number): void;
  input_grad(
    dy: number, wt: number, dx: number, batch: number, h: number, w: number, ci: number, oh: number, ow: number, co: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number,
  ): void;
  max_pool_grad(
    x: number, dy: number, dx: number, batch: number, h: number, w: number, c: number, oh: number, ow: number,
    sh: number, sw: number, dh: number, dw: number, eh: number, ew: number, pt: number, pl: number,
  ): void;
  batch_to_channels(x: number, out: number, b0: number, n: number, h: number, w: number, c: number, hc: number, wc: number): void;
  batch_to_rows(x: number, out: number, b0: number, n: number, hw: number, c: number): void;
  depthwise_filter_grad(
    x: number, dy: number, acc: number, batch: number, h: number, w: number, c: number, oh: number, ow: number,
    kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, pt: number, pl: number,
  ): void;
}

interface WasmModuleLike {
  tfjs?: { getThreadsCount?: () => number };
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
}

/** The parts of tfjs' wasm backend the SIMD kernels use. @internal */
export interface SimdBackend {
  wasm: WasmModuleLike;
  getMemoryOffset(dataId: object): number;
}

const instances = new WeakMap<object, { kernels: SimdKernels; memory: WebAssembly.Memory; modules: WebAssembly.Module[] } | null>();
let disabled = false;
let poolDisabled = false;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const bytes = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/**
 * The SIMD kernels bound to `backend`'s wasm memory, instantiated on first use (synchronously: each
 * module is under the 4 KiB browsers compile on the main thread), or null where WebAssembly SIMD or
 * the memory is not available; callers then take their JavaScript path.
 *
 * @internal
 */
export function simdKernels(backend: unknown): SimdKernels | null {
  if (disabled) return null;
  const wasm = (backend as Partial<SimdBackend>).wasm;
  if (wasm == null || typeof (backend as SimdBackend).getMemoryOffset !== 'function') return null;
  return instance(wasm)?.kernels ?? null;
}

function instance(wasm: WasmModuleLike) {
  const known = instances.get(wasm);
  if (known !== undefined) return known;
  let found: { kernels: SimdKernels; memory: WebAssembly.Memory; modules: WebAssembly.Module[] } | null = null;
  const memory = memoryOf(wasm);
  if (memory instanceof WebAssembly.Memory) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const all: Record<string, unknown> = {};
      const modules: WebAssembly.Module[] = [];
      for (const m of Object.values(SIMD_MODULES)) {
        const mod = new WebAssembly.Module(decode(shared ? m.shared : m.plain));
        modules.push(mod);
        Object.assign(all, new WebAssembly.Instance(mod, { env: { memory } }).exports);
      }
      found = { kernels: all as unknown as SimdKernels, memory, modules };
    } catch {
      found = null;
    }
  }
  instances.set(wasm, found);
  return found;
}

function poolState(backend: unknown) {
  if (disabled || poolDisabled) return null;
  const wasm = (backend as Partial<SimdBackend>).wasm;
  if (wasm == null || typeof (backend as SimdBackend).getMemoryOffset !== 'function') return null;
  const inst = instance(wasm);
  if (inst == null) return null;
  let threads = 1;
  try {
    threads = wasm.tfjs?.getThreadsCount?.() ?? 1;
  } catch {
    threads = 1;
  }
  return simdPoolFor(wasm, inst.memory, inst.modules, inst.kernels as unknown as Record<string, (...a: number[]) => void>, threads);
}

/**
 * Worker threads for the SIMD kernels on tfjs' threaded build (as many as its XNNPACK threads), started in the
 * background on first call: null until they run, and on a single-threaded build. @internal
 */
export function simdPool(backend: unknown): SimdPool | null {
  return poolState(backend)?.pool ?? null;
}

/** Starts {@link simdPool} and resolves once it runs (null where there is none). @internal */
export async function simdPoolReady(backend: unknown): Promise<SimdPool | null> {
  return (await poolState(backend)?.ready) ?? null;
}

/** Test hook: keeps the SIMD kernels on this thread (true) or lets them split again; returns the previous setting. @internal */
export function setSimdPoolDisabled(off: boolean): boolean {
  const prev = poolDisabled;
  poolDisabled = off;
  return prev;
}

/** Below this many values a row-wise kernel stays on one thread (the hand-over would cost more than it saves). */
const SPLIT_MIN_VALUES = 1 << 15;

/** How many parts a row-wise SIMD kernel over `rows` x `width` values splits into: one per SIMD thread, or 1. @internal */
export function splitParts(backend: unknown, rows: number, width: number): number {
  const pool = simdPool(backend);
  return pool == null || rows * width < SPLIT_MIN_VALUES ? 1 : Math.min(pool.size, rows);
}

/**
 * Calls SIMD kernel `fn` once per part of `rows` rows (`args(start, count, part)`), the parts on {@link simdPool}'s
 * threads when there are several. @internal
 */
export function runParts(backend: unknown, fn: keyof SimdKernels, rows: number, parts: number, args: (start: number, count: number, part: number) => number[]): void {
  const kernels = simdKernels(backend);
  if (kernels == null) throw new Error(`@trainkit/backend: ${fn} needs the wasm SIMD kernels`);
  const calls = splitRange(rows, parts).map(([r0, n], k) => args(r0, n, k));
  const pool = simdPool(backend);
  if (pool != null && calls.length > 1) pool.run(fn, calls);
  else for (const c of calls) (kernels[fn] as (...a: number[]) => void)(...c);
}

/** Even split of `n` items into at most `parts` ranges, none empty: [start, count] each. @internal */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const k = Math.max(1, Math.min(parts, n));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < k; i++) {
    const a = Math.floor((i * n) / k);
    out.push([a, Math.floor(((i + 1) * n) / k) - a]);
  }
  return out;
}

/** Byte offset of a tensor's data in the wasm heap. @internal */
export function heapOffset(backend: unknown, t: TensorInfo): number {
  return (backend as SimdBackend).getMemoryOffset(t.dataId);
}

/** Test hook: turns the SIMD kernels off (true) or back on; returns the previous setting. @internal */
export function setSimdDisabled(off: boolean): boolean {
  const prev = disabled;
  disabled = off;
  return prev;
}

/** Whether `backend` is tfjs' threaded wasm build (its memory is shared). @internal */
export function wasmThreaded(backend: unknown): boolean {
  const memory = memoryOf((backend as Partial<SimdBackend>).wasm);
  return typeof SharedArrayBuffer !== 'undefined' && memory != null && memory.buffer instanceof SharedArrayBuffer;
}

/** tfjs' wasm memory: exported by its plain build, imported (and kept on the module) by its threaded one. */
function memoryOf(wasm: WasmModuleLike | undefined): WebAssembly.Memory | undefined {
  return wasm?.asm?.memory ?? wasm?.wasmMemory;
}

/**
 * Runs `fn` with `bytes` of zeroed wasm heap scratch (from tfjs' allocator, 8-byte aligned), freed after, also on
 * error. Read heap views inside `fn` only after any allocation: one may grow the memory. @internal
 */
export function withScratch<T>(backend: unknown, bytes: number, fn: (ptr: number, wasm: WasmModuleLike) => T): T {
  const wasm = (backend as SimdBackend).wasm;
  const ptr = wasm._malloc(bytes);
  try {
    wasm.HEAPU8.fill(0, ptr, ptr + bytes);
    return fn(ptr, wasm);
  } finally {
    wasm._free(ptr);
  }
}
