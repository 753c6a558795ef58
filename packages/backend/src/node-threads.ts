import * as tf from '@tensorflow/tfjs-core';
import { TrainkitError, checkNumber } from '@trainkit/core';
import { isNode, loadOptional } from './internal/load';
import { registerWasmTrainingKernels } from './register';
import { simdPoolReady } from './internal/simd';

/** The pthread pool tfjs' threaded wasm build starts (its thread count is capped there). */
export const MAX_NODE_WASM_THREADS = 8;

interface WasmModule {
  setWasmPaths(p: string | Record<string, string>): void;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/**
 * Starts tfjs' multi-threaded wasm build (XNNPACK on a pthread pool) in Node, where tfjs turns wasm
 * threads off (tfjs#3830). Its emscripten runtime runs pthreads on `worker_threads`; what keeps it
 * from starting in Node is only how tfjs hands it its scripts, which this bridges while the backend
 * initialises:
 * - the worker script, which tfjs passes as a `blob:` URL (Node's `Worker` takes files only), is
 *   written to a temp file (removed at exit);
 * - the workers load the package's unbundled `wasm-out/tfjs-backend-wasm-threaded-simd.js` instead of
 *   the bundled factory's source, which refers to the bundle's own `require$$N` variables;
 * - `os.cpus()` reports 2 × `threads` logical cores for that moment: tfjs caps the pool at half the
 *   logical cores.
 *
 * Call it before anything initialises the wasm backend, then select wasm as usual (`useBackend('wasm')`
 * or `tf.setBackend('wasm')`); the previous backend stays active. Installs trainkit's training kernels.
 *
 * @param threads - XNNPACK threads, 1 to {@link MAX_NODE_WASM_THREADS} (1 loads the single-threaded build)
 * @param opts.wasmPaths - as `setWasmPaths`. @defaultValue the `dist/` of the installed `@tensorflow/tfjs-backend-wasm`
 * @returns the thread count the backend reports (nothing to dispose)
 * @throws TrainkitError `INVALID_ARGUMENT` for a bad count; `BACKEND_UNAVAILABLE` outside Node, when the
 *   wasm backend is already initialised, or when it fails to start
 * @example
 * ```ts
 * import { initNodeWasmThreads, useBackend } from '@trainkit/backend';
 * await initNodeWasmThreads(2);
 * await useBackend('wasm');
 * ```
 */
export async function initNodeWasmThreads(threads: number, opts: { wasmPaths?: string | Record<string, string> } = {}): Promise<number> {
  checkNumber('threads', threads, { integer: true, min: 1, max: MAX_NODE_WASM_THREADS });
  if (!isNode()) throw new TrainkitError('BACKEND_UNAVAILABLE', 'initNodeWasmThreads runs in Node only (browsers get wasm threads from tfjs itself)', 'threads');
  if ((tf.engine().registry as Record<string, unknown>)['wasm'] != null) {
    throw new TrainkitError('BACKEND_UNAVAILABLE', 'the wasm backend is already initialised: call initNodeWasmThreads before selecting wasm', 'threads');
  }
  const { createRequire } = await loadOptional<typeof import('node:module')>('node:module');
  const { dirname, join } = await loadOptional<typeof import('node:path')>('node:path');
  const fs = await loadOptional<typeof import('node:fs')>('node:fs');
  const req = createRequire(join(process.cwd(), 'index.js'));
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
  } catch {
    pkgJson = req.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  }
  const pkg = dirname(pkgJson);
  const mod = await loadOptional<WasmModule>('@tensorflow/tfjs-backend-wasm');
  mod.setWasmPaths(opts.wasmPaths ?? `${join(pkg, 'dist')}/`);
  mod.setThreadsCount(threads);
  const prev = tf.getBackend();
  if (threads === 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return await start(prev, mod);
  }
  const os = req('node:os') as typeof import('node:os');
  const mainScript = join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = req(join(pkg, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'trainkit-wasm-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const workerFile = join(dir, 'worker.js');
  // As tfjs does for its Blob: the contents hold raw newlines inside string literals. The worker
  // turns the main script it is sent (a Blob) into an object URL and reads that as a file.
  const worker = `${wasmWorkerContents.replace(/\n/g, '\\n')};URL.createObjectURL = () => ${JSON.stringify(mainScript)}; URL.revokeObjectURL = () => {};\n`;
  fs.writeFileSync(`${workerFile}.tmp`, worker);
  fs.renameSync(`${workerFile}.tmp`, workerFile);
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? workerFile : createObjectURL(obj));
  os.cpus = () => {
    const c = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => c[i % c.length] as import('node:os').CpuInfo);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    return await start(prev, mod);
  } catch (err) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    throw err;
  } finally {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
}

async function start(prev: string, mod: WasmModule): Promise<number> {
  const ok = await tf.setBackend('wasm').catch(() => false);
  if (!ok) throw new TrainkitError('BACKEND_UNAVAILABLE', 'the wasm backend failed to initialise (see the warning tfjs printed)', 'threads');
  registerWasmTrainingKernels();
  unrefPthreads();
  await simdPoolReady(tf.engine().registry['wasm']); // trainkit's SIMD kernels' own worker threads
  const n = mod.getThreadsCount();
  if (prev != null && prev !== 'wasm') await tf.setBackend(prev);
  return n;
}

interface PThreadLike {
  unusedWorkers: Array<{ unref?(): void }>;
  runningWorkers: Array<{ unref?(): void }>;
  allocateUnusedWorker?: () => void;
}

/**
 * Lets Node exit while the pthread pool idles: emscripten's `worker_threads` workers are ref'd, so a
 * script that trained on threaded wasm never ended. Unrefs the pool and any worker added later (a
 * running computation blocks the main thread until its threads finish, whatever their ref state).
 */
function unrefPthreads(): void {
  const be = tf.engine().registry['wasm'] as unknown as { wasm?: { PThread?: PThreadLike } } | undefined;
  const pt = be?.wasm?.PThread;
  if (pt == null) return;
  const unrefAll = () => {
    for (const w of [...pt.unusedWorkers, ...pt.runningWorkers]) w.unref?.();
  };
  unrefAll();
  const allocate = pt.allocateUnusedWorker;
  if (typeof allocate === 'function') {
    pt.allocateUnusedWorker = function (this: PThreadLike) {
      allocate.call(this);
      unrefAll();
    };
  }
}
