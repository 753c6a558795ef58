import { loadOptional } from './load';

/** The exports of `@tensorflow/tfjs-backend-wasm` that trainkit calls. */
export interface WasmModule {
  setWasmPaths?: (prefixOrFileMap: string | Record<string, string>, usePlatformFetch?: boolean) => void;
  setThreadsCount?: (n: number) => void;
  getThreadsCount?: () => number;
}

/** The `.wasm` file tfjs fetches for these platform features. @internal */
export function wasmFileName(simd: boolean, threads: boolean): string {
  if (simd && threads) return 'tfjs-backend-wasm-threaded-simd.wasm';
  return simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
}

/**
 * Records the `.wasm` requests that fail while `run` initialises the backend (browsers fetch the
 * binary with the global `fetch`; tfjs' own error does not say which URL failed).
 *
 * @internal
 */
export async function watchWasmFetches<T>(run: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; failures: string[] }> {
  const g = globalThis as { fetch?: typeof fetch };
  const original = g.fetch;
  const failures: string[] = [];
  if (original != null) {
    g.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const isWasm = /\.wasm(\?|#|$)/.test(url);
      try {
        const res = await original(input, init);
        if (isWasm && !res.ok) failures.push(`${res.url || url} (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''})`);
        return res;
      } catch (err) {
        if (isWasm) failures.push(`${url} (${err instanceof Error ? err.message : String(err)})`);
        throw err;
      }
    };
  }
  try {
    return { result: await run(), error: undefined, failures };
  } catch (error) {
    return { result: undefined, error, failures };
  } finally {
    if (original != null) g.fetch = original;
  }
}

/**
 * In a browser: runs `run` (a threaded wasm initialisation) and rejects as soon as one of tfjs's wasm worker threads
 * throws, or after `timeoutMs`. tfjs starts the workers from Blob URLs holding its Emscripten factory's source text;
 * when a worker dies at start-up tfjs never settles, so without this the app would wait forever. The worker's error
 * events are claimed (`preventDefault`) because the rejection reports them. Elsewhere it just runs `run`.
 *
 * @internal
 */
export function failOnWorkerError<T>(run: () => Promise<T>, timeoutMs: number): Promise<T> {
  type Target = { addEventListener(t: string, f: (e: unknown) => void): void; removeEventListener(t: string, f: (e: unknown) => void): void };
  const g = globalThis as unknown as Partial<Target> & { ErrorEvent?: new (...a: never[]) => unknown };
  if (typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function') return run();
  const target = g as Target;
  return new Promise<T>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      target.removeEventListener('error', onError);
    };
    const onError = (e: unknown): void => {
      const ev = e as { filename?: unknown; message?: unknown; error?: unknown; preventDefault?: () => void };
      const inWorker = typeof ev.filename === 'string' && ev.filename.startsWith('blob:');
      const rethrown = g.ErrorEvent != null && ev.error instanceof g.ErrorEvent; // Emscripten rethrows the worker's event
      if (!inWorker && !rethrown) return;
      ev.preventDefault?.();
      const inner = rethrown ? (ev.error as { message?: unknown }).message : ev.message;
      finish();
      reject(new Error(`a wasm worker thread threw at start-up: ${String(inner ?? 'unknown error').replace(/^Uncaught /, '')}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`the wasm worker threads did not start within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    target.addEventListener('error', onError);
    run().then(
      (v) => {
        finish();
        resolve(v);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
  });
}

/**
 * In Node: the `.wasm` file a path prefix would load, when it is missing (Node reads it from disk).
 *
 * @internal
 */
export async function missingNodeWasmFile(prefix: string, simd: boolean): Promise<string | undefined> {
  if (/^(https?|data|blob):/.test(prefix)) return undefined;
  const { existsSync } = await loadOptional<typeof import('node:fs')>('node:fs');
  const { fileURLToPath } = await loadOptional<typeof import('node:url')>('node:url');
  const file = `${prefix.startsWith('file:') ? fileURLToPath(prefix) : prefix}${wasmFileName(simd, false)}`;
  return existsSync(file) ? undefined : file;
}

/** The thread count the initialised wasm backend really uses (its XNNPACK pool). @internal */
export function wasmThreadsInUse(backend: unknown, mod: WasmModule | undefined): number {
  const b = backend as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  const n = b.wasm?.tfjs?.getThreadsCount?.() ?? safe(() => mod?.getThreadsCount?.());
  return typeof n === 'number' && n >= 1 ? n : 1;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
