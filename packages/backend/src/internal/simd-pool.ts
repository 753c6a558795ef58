/**
 * Worker threads for trainkit's SIMD kernels on tfjs' threaded wasm build. Each worker instantiates the same
 * modules on the same shared memory and runs one call of a split kernel while this thread runs another; calls
 * are handed over and finished through a small shared control block (Atomics), so a split costs microseconds.
 * Node: `worker_threads`, unref'd (a script still exits). Browsers: Web Workers from a Blob (a page whose CSP
 * forbids them keeps the one-thread path).
 */

/** A started pool: `run` makes call 0 here and call k on worker k (at most `size` calls), then returns. @internal */
export interface SimdPool {
  /** Threads a kernel may split over, this one included. */
  readonly size: number;
  run(fn: string, calls: ReadonlyArray<readonly number[]>): void;
}

// Control block per worker (Int32): [0] request seq, [1] done seq, [2] function index, [3] arg count, [4] error, [8..] args.
const CTRL_INTS = 64;
const ARGS = 8;
const MAX_ARGS = CTRL_INTS - ARGS;

// Self-contained worker source (no outer names), run as a CommonJS script by Node or as a Web Worker.
const WORKER_SOURCE = `"use strict";
let post = null;
function start(d) {
  const c = new Int32Array(d.ctrl);
  const all = {};
  for (const m of d.modules) Object.assign(all, new WebAssembly.Instance(m, { env: { memory: d.memory } }).exports);
  const fns = d.names.map((n) => all[n]);
  post('ready');
  let seq = 0;
  for (;;) {
    Atomics.wait(c, 0, seq);
    seq = Atomics.load(c, 0);
    const a = [];
    for (let i = 0; i < c[3]; i++) a.push(c[${ARGS} + i]);
    try { fns[c[2]].apply(null, a); c[4] = 0; } catch (e) { c[4] = 1; }
    Atomics.store(c, 1, seq);
    Atomics.notify(c, 1);
  }
}
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (d) => { post = (m) => parentPort.postMessage(m); start(d); });
} else {
  self.onmessage = (e) => { post = (m) => self.postMessage(m); start(e.data); };
}
`;

interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

interface PoolState {
  pool: SimdPool | null;
  ready: Promise<SimdPool | null>;
}

const pools = new WeakMap<object, PoolState>();
/** Give up on a worker that neither answers nor fails (a page that never runs it). */
const START_TIMEOUT_MS = 30_000;
/** A call that has not come back by then means a dead worker: fail instead of hanging. */
const CALL_TIMEOUT_MS = 120_000;

let blockingWait: boolean | undefined;
/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  if (blockingWait === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blockingWait = true;
    } catch {
      blockingWait = false;
    }
  }
  return blockingWait;
}

async function spawn(): Promise<{ worker: WorkerLike; onReady: (ok: () => void, fail: (e: unknown) => void) => void }> {
  const isNode = typeof process !== 'undefined' && process.versions?.node != null && typeof window === 'undefined';
  if (isNode) {
    const spec = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ spec)) as typeof import('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    return {
      worker,
      onReady: (ok, fail) => {
        worker.once('message', () => ok());
        worker.once('error', fail);
        worker.once('exit', (code) => fail(new Error(`SIMD worker exited (${code})`)));
      },
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    worker,
    onReady: (ok, fail) => {
      worker.onmessage = () => ok();
      worker.onerror = (e) => fail(e);
    },
  };
}

/**
 * Starts `workers` pool workers on `memory` (shared), each with `modules` instantiated; resolves to the pool, or
 * null if one fails to start (the kernels then keep their one-thread path).
 */
async function startPool(memory: WebAssembly.Memory, modules: WebAssembly.Module[], names: string[], local: Record<string, (...a: number[]) => void>, workers: number): Promise<SimdPool | null> {
  const started: WorkerLike[] = [];
  try {
    const ctrls: Int32Array[] = [];
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const { worker, onReady } = await spawn();
        started.push(worker);
        const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
        ctrls.push(ctrl);
        await new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error('SIMD worker did not start')), START_TIMEOUT_MS);
          (timer as { unref?: () => void }).unref?.();
          onReady(
            () => {
              clearTimeout(timer);
              ok();
            },
            (e) => {
              clearTimeout(timer);
              fail(e);
            },
          );
          worker.postMessage({ memory, modules, names, ctrl: ctrl.buffer });
        });
      }),
    );
    const index = new Map(names.map((n, i) => [n, i]));
    return {
      size: workers + 1,
      run(fn, calls) {
        const f = index.get(fn);
        const here = local[fn];
        if (f == null || here == null) throw new Error(`@trainkit/backend: no SIMD kernel ${fn}`);
        if (calls.length > workers + 1) throw new Error(`@trainkit/backend: ${calls.length} calls for ${workers + 1} threads`);
        const sent: Array<[Int32Array, number]> = [];
        for (let k = 1; k < calls.length; k++) {
          const c = ctrls[k - 1] as Int32Array;
          const args = calls[k] as readonly number[];
          if (args.length > MAX_ARGS) throw new Error(`@trainkit/backend: ${fn} has over ${MAX_ARGS} arguments`);
          for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i] as number;
          c[2] = f;
          c[3] = args.length;
          const seq = (Atomics.load(c, 0) + 1) | 0;
          Atomics.store(c, 0, seq);
          Atomics.notify(c, 0);
          sent.push([c, seq]);
        }
        let failed = false;
        try {
          if (calls[0] != null) here(...calls[0]);
        } finally {
          // Always wait: a worker must not still be writing when the caller frees or reuses its buffers.
          for (const [c, seq] of sent) {
            const t0 = Date.now();
            while (Atomics.load(c, 1) !== seq) {
              if (canBlock()) Atomics.wait(c, 1, (seq - 1) | 0, 1000);
              if (Date.now() - t0 > CALL_TIMEOUT_MS) throw new Error(`@trainkit/backend: SIMD worker did not finish ${fn}`);
            }
            if (c[4] !== 0) failed = true;
          }
        }
        if (failed) throw new Error(`@trainkit/backend: SIMD kernel ${fn} failed on a worker thread`);
      },
    };
  } catch {
    for (const w of started) void w.terminate();
    return null;
  }
}

/**
 * The pool for `wasm` (keyed by tfjs' module), started in the background on first request with `threads − 1`
 * workers; null until it is ready, and where memory is not shared or threads ≤ 1. @internal
 */
export function simdPoolFor(
  key: object,
  memory: WebAssembly.Memory,
  modules: WebAssembly.Module[],
  local: Record<string, (...a: number[]) => void>,
  threads: number,
): PoolState | null {
  const known = pools.get(key);
  if (known) return known;
  if (threads <= 1 || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const names = Object.keys(local).filter((n) => typeof local[n] === 'function');
  const state: PoolState = { pool: null, ready: Promise.resolve(null) };
  state.ready = startPool(memory, modules, names, local, threads - 1).then((p) => (state.pool = p));
  pools.set(key, state);
  return state;
}
