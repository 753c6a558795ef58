import * as tf from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, checkNumber } from '@trainkit/core';
import { firstLine, isNode, loadOptional } from './internal/load';
import { registerWasmTrainingKernels } from './register';

/** A backend trainkit can select. `node-gpu` and `node` both run as tfjs' `tensorflow` backend. */
export type BackendName = 'node-gpu' | 'node' | 'webgpu' | 'wasm' | 'cpu';

/** What {@link useBackend} accepts: one backend, or `'auto'` for the fastest available. */
export type BackendChoice = BackendName | 'auto';

/** The order `useBackend('auto')` tries backends in. */
export const AUTO_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'webgpu', 'wasm', 'cpu'];

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * wasm worker threads. Honoured where the platform supports wasm threads (a cross-origin-isolated
   * browser page); tfjs disables wasm threads in Node (tfjs#3830), so Node always runs 1 thread.
   * @defaultValue the wasm backend's default (half the logical cores in browsers)
   */
  threads?: number;
  /**
   * Where the wasm backend finds its `.wasm` files: a URL/path prefix ending in `/`, or a file map,
   * passed to `setWasmPaths`. @defaultValue in Node, the `dist/` folder of the installed
   * `@tensorflow/tfjs-backend-wasm`; in browsers, the backend's own default (next to the script)
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Make sure gradients are registered (needed to train). In Node the tfjs-core entry registers
   * none; useBackend then imports `@tensorflow/tfjs` (or tfjs-node) which registers them into the
   * same engine. Set `false` for inference-only apps without `@tensorflow/tfjs`. @defaultValue true
   */
  gradients?: boolean;
  /** Receives one line per backend tried and skipped, and the final choice. @defaultValue no logging */
  log?: (line: string) => void;
}

/** The backend {@link useBackend} selected. Plain data: nothing to dispose. */
export interface BackendInfo {
  /** trainkit's name for the backend. */
  name: BackendName;
  /** tfjs' name for it (`tf.getBackend()`): `tensorflow` for node / node-gpu. */
  tfjsName: string;
  /** Where the arithmetic runs. */
  device: 'cpu' | 'gpu';
  /** Whose training (gradient) kernels run: the backend's own, or trainkit's (wasm). */
  trainingKernels: 'native' | 'trainkit';
  /** Worker threads used by the backend (1 where it is single-threaded or unknown). */
  threads: number;
  /** One line per backend `auto` skipped, saying why. */
  skipped: string[];
}

interface Attempt {
  tfjsName: string;
  device: 'cpu' | 'gpu';
  trainingKernels: 'native' | 'trainkit';
  threads: number;
}

/** Thrown inside attempts: the reason a backend is unavailable, plus how to get it. */
class Unavailable extends Error {
  constructor(
    message: string,
    readonly install: string,
  ) {
    super(message);
  }
}

const INSTALL: Record<BackendName, string> = {
  'node-gpu': 'npm i @tensorflow/tfjs-node-gpu (needs CUDA 11.2 + cuDNN 8.1 and the libtensorflow download)',
  node: 'npm i @tensorflow/tfjs-node (its install downloads libtensorflow)',
  webgpu: 'npm i @tensorflow/tfjs-backend-webgpu (and in Node the `webgpu` package with a Vulkan/Metal/D3D12 adapter)',
  wasm: 'npm i @tensorflow/tfjs-backend-wasm',
  cpu: 'npm i @tensorflow/tfjs-backend-cpu (or @tensorflow/tfjs)',
};

async function activate(tfjsName: string): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfjsName);
    await tf.ready();
  } catch (err) {
    throw new Unavailable(`tf.setBackend('${tfjsName}') failed: ${firstLine(err)}`, '');
  }
  if (!ok || tf.getBackend() !== tfjsName) throw new Unavailable(`tf.setBackend('${tfjsName}') failed to initialise`, '');
}

async function importOrExplain(specifier: string, name: BackendName): Promise<Record<string, unknown>> {
  try {
    return await loadOptional(specifier);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    const why = missing ? `${specifier} is not installed` : `${specifier} failed to load: ${firstLine(err)}`;
    throw new Unavailable(why, INSTALL[name]);
  }
}

/**
 * tfjs-node(-gpu) keeps its native addon in `lib/napi-v*\/tfjs_binding.node`, downloaded at install
 * time. When the download failed the package is there without it: importing it would register its
 * kernels and then throw, so check first. Undefined when this cannot be told (not Node, no package).
 */
async function nodeAddonMissing(specifier: string): Promise<boolean | undefined> {
  try {
    const { createRequire } = await loadOptional<typeof import('node:module')>('node:module');
    const { dirname, join } = await loadOptional<typeof import('node:path')>('node:path');
    const { existsSync, readdirSync } = await loadOptional<typeof import('node:fs')>('node:fs');
    const req = createRequire(import.meta.url);
    const lib = join(dirname(req.resolve(`${specifier}/package.json`)), 'lib');
    if (!existsSync(lib)) return true;
    return !readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  } catch {
    return undefined;
  }
}

async function tryNode(gpu: boolean): Promise<Attempt> {
  const name: BackendName = gpu ? 'node-gpu' : 'node';
  const specifier = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (!isNode()) throw new Unavailable(`${specifier} runs only in Node.js`, INSTALL[name]);
  if ((await nodeAddonMissing(specifier)) === true) {
    throw new Unavailable(`${specifier} is installed without its native addon (its libtensorflow download failed)`, INSTALL[name]);
  }
  await importOrExplain(specifier, name);
  await activate('tensorflow');
  const be = tf.backend() as { isUsingGpuDevice?: boolean; binding?: { isUsingGpuDevice?: () => boolean } };
  const onGpu = be.isUsingGpuDevice === true || be.binding?.isUsingGpuDevice?.() === true;
  if (gpu && !onGpu) {
    throw new Unavailable('tfjs-node-gpu loaded but runs on the CPU (no CUDA 11.2/cuDNN 8.1 GPU found)', INSTALL[name]);
  }
  return { tfjsName: 'tensorflow', device: onGpu ? 'gpu' : 'cpu', trainingKernels: 'native', threads: 1 };
}

async function tryWebgpu(): Promise<Attempt> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } };
  if (g.navigator?.gpu == null && isNode()) {
    // Node: Dawn through the `webgpu` npm package exposes navigator.gpu.
    const dawn = await importOrExplain('webgpu', 'webgpu');
    const create = dawn['create'] as ((flags: string[]) => unknown) | undefined;
    const globals = dawn['globals'] as Record<string, unknown> | undefined;
    if (typeof create !== 'function') throw new Unavailable('the `webgpu` package exports no create()', INSTALL.webgpu);
    if (globals) Object.assign(globalThis, globals);
    const gpu = create([]) as { requestAdapter(): Promise<unknown> };
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter == null) throw new Unavailable('no WebGPU adapter (Dawn found no usable GPU)', INSTALL.webgpu);
    if (g.navigator == null) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    }
  }
  if (g.navigator?.gpu == null) throw new Unavailable('this platform has no navigator.gpu', INSTALL.webgpu);
  const adapter = await g.navigator.gpu.requestAdapter().catch(() => null);
  if (adapter == null) throw new Unavailable('no WebGPU adapter', INSTALL.webgpu);
  if (tf.findBackendFactory('webgpu') == null) await importOrExplain('@tensorflow/tfjs-backend-webgpu', 'webgpu');
  await activate('webgpu');
  return { tfjsName: 'webgpu', device: 'gpu', trainingKernels: 'native', threads: 1 };
}

async function nodeWasmDir(): Promise<string | undefined> {
  try {
    const { createRequire } = await loadOptional<typeof import('node:module')>('node:module');
    const { dirname, join } = await loadOptional<typeof import('node:path')>('node:path');
    let pkg: string;
    try {
      pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    } catch {
      pkg = createRequire(join(process.cwd(), 'index.js')).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    }
    return `${join(dirname(pkg), 'dist')}/`;
  } catch {
    return undefined;
  }
}

async function tryWasm(opts: UseBackendOptions): Promise<Attempt> {
  let mod: Record<string, unknown> | undefined;
  try {
    mod = await importOrExplain('@tensorflow/tfjs-backend-wasm', 'wasm');
  } catch (err) {
    // A bundled app may have registered wasm itself without a resolvable package name.
    if (tf.findBackendFactory('wasm') == null) throw err;
  }
  const initialised = (tf.engine().registry as Record<string, unknown>)['wasm'] != null;
  if (!initialised && mod != null) {
    const setWasmPaths = mod['setWasmPaths'] as ((p: string | Record<string, string>) => void) | undefined;
    const paths = opts.wasmPaths ?? (isNode() ? await nodeWasmDir() : undefined);
    if (paths != null) setWasmPaths?.(paths);
    const setThreadsCount = mod['setThreadsCount'] as ((n: number) => void) | undefined;
    if (opts.threads != null) setThreadsCount?.(opts.threads);
  }
  await activate('wasm');
  registerWasmTrainingKernels();
  const getThreadsCount = mod?.['getThreadsCount'] as (() => number) | undefined;
  return { tfjsName: 'wasm', device: 'cpu', trainingKernels: 'trainkit', threads: getThreadsCount?.() ?? 1 };
}

async function tryCpu(): Promise<Attempt> {
  if (tf.findBackendFactory('cpu') == null) await importOrExplain('@tensorflow/tfjs-backend-cpu', 'cpu');
  await activate('cpu');
  return { tfjsName: 'cpu', device: 'cpu', trainingKernels: 'native', threads: 1 };
}

function attempt(name: BackendName, opts: UseBackendOptions): Promise<Attempt> {
  switch (name) {
    case 'node-gpu':
      return tryNode(true);
    case 'node':
      return tryNode(false);
    case 'webgpu':
      return tryWebgpu();
    case 'wasm':
      return tryWasm(opts);
    case 'cpu':
      return tryCpu();
  }
}

/**
 * Whether tfjs' gradients are registered (the tfjs-core CJS entry registers none).
 *
 * @returns true when the gradients of Conv2D, BatchMatMul and Relu are in the registry
 */
export function gradientsRegistered(): boolean {
  return tf.getGradient('Conv2D') != null && tf.getGradient('BatchMatMul') != null && tf.getGradient('Relu') != null;
}

async function ensureGradients(): Promise<void> {
  if (gradientsRegistered()) return;
  try {
    await loadOptional('@tensorflow/tfjs');
  } catch (err) {
    throw new TrainkitError(
      'BACKEND_UNAVAILABLE',
      `gradients are not registered and @tensorflow/tfjs could not be imported (${firstLine(err)}): ` +
        "install it (npm i @tensorflow/tfjs) or, with a bundler, import '@tensorflow/tfjs-core/dist/register_all_gradients'; " +
        'pass { gradients: false } for inference only',
      'gradients',
    );
  }
  if (!gradientsRegistered()) {
    throw new TrainkitError(
      'BACKEND_UNAVAILABLE',
      'gradients are still not registered after importing @tensorflow/tfjs: it resolved to a different @tensorflow/tfjs-core; dedupe tfjs-core',
      'gradients',
    );
  }
}

/**
 * Selects the fastest available TensorFlow.js backend (or the named one), installs trainkit's wasm
 * training kernels when wasm is chosen, and makes sure gradients are registered.
 *
 * `auto` tries, in order, {@link AUTO_ORDER}: tfjs-node-gpu (only when a GPU is really in use),
 * tfjs-node, webgpu (only when an adapter exists), wasm (with trainkit's kernels), cpu. Each optional
 * backend package is loaded with a guarded dynamic `import()`; a missing or broken one is skipped
 * with a one-line reason (in `skipped` and `opts.log`). A backend package already imported by the
 * app (e.g. a bundled `@tensorflow/tfjs-backend-wasm`) is used as is.
 *
 * @param name - a backend, or `'auto'`. @defaultValue 'auto'
 * @param opts - {@link UseBackendOptions}
 * @returns the selected backend's {@link BackendInfo} (plain data, nothing to dispose)
 * @throws TrainkitError `BACKEND_UNAVAILABLE` when the named backend (or, for `auto`, every one)
 *   cannot be used, with the reason and the install command; `INVALID_ARGUMENT` for a bad name/option
 * @example
 * ```ts
 * import '@tensorflow/tfjs';
 * import { useBackend } from '@trainkit/backend';
 * const { name, device } = await useBackend(); // e.g. { name: 'wasm', device: 'cpu', ... }
 * ```
 */
export async function useBackend(name: BackendChoice = 'auto', opts: UseBackendOptions = {}): Promise<BackendInfo> {
  if (name !== 'auto' && !AUTO_ORDER.includes(name)) {
    throw invalidArgument('name', name, `'auto' or one of ${AUTO_ORDER.map((n) => `'${n}'`).join(', ')}`);
  }
  if (opts.threads !== undefined) checkNumber('threads', opts.threads, { integer: true, min: 1, max: 256 });
  const log = opts.log ?? (() => {});
  const skipped: string[] = [];
  if (opts.gradients !== false) await ensureGradients();
  const candidates = name === 'auto' ? AUTO_ORDER : [name];
  for (const candidate of candidates) {
    try {
      const got = await attempt(candidate, opts);
      const info: BackendInfo = { name: candidate, ...got, skipped };
      log(`backend: ${candidate} (${info.device}, ${info.trainingKernels} training kernels, ${info.threads} thread(s))`);
      return info;
    } catch (err) {
      const reason = err instanceof Unavailable ? err.message : firstLine(err);
      const install = err instanceof Unavailable && err.install !== '' ? err.install : INSTALL[candidate];
      const line = `skip ${candidate}: ${reason}`;
      skipped.push(line);
      log(line);
      if (name !== 'auto') {
        throw new TrainkitError('BACKEND_UNAVAILABLE', `backend '${candidate}' is unavailable: ${reason}. Install: ${install}`, 'name');
      }
    }
  }
  throw new TrainkitError('BACKEND_UNAVAILABLE', `no backend could be used:\n${skipped.join('\n')}`, 'name');
}
