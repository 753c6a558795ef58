import * as tf from '@tensorflow/tfjs-core';
import { TrainkitError, invalidArgument, checkNumber } from '@trainkit/core';
import { firstLine, isNode, loadOptional } from './internal/load';
import { explainNoDawnAdapter, probeWebgl, webgpuAdapterInfo, type AdapterInfo } from './internal/adapter';
import { resolveDawn, vulkanFacts } from './internal/dawn';
import { failOnWorkerError, missingNodeWasmFile, watchWasmFetches, wasmThreadsInUse, type WasmModule } from './internal/wasm-setup';
import { registerWasmTrainingKernels } from './register';
import { initNodeWasmThreads } from './node-threads';
import { simdKernels, simdPoolReady } from './internal/simd';

export type { AdapterInfo } from './internal/adapter';
export type { WasmModule } from './internal/wasm-setup';

/** A backend trainkit can select. `node-gpu` and `node` both run as tfjs' `tensorflow` backend. */
export type BackendName = 'node-gpu' | 'node' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** What {@link useBackend} accepts: one backend, or `'auto'` for the fastest available. */
export type BackendChoice = BackendName | 'auto';

/** The order `useBackend('auto')` tries backends in. */
export const AUTO_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * wasm worker threads. Honoured on a cross-origin-isolated browser page; elsewhere (any other
   * page, Node: tfjs#3830) a warning says why and wasm runs 1 thread.
   * @defaultValue the wasm backend's default
   */
  threads?: number;
  /**
   * Where the wasm backend finds its `.wasm` files: a URL/path prefix ending in `/`, or a file map,
   * passed to `setWasmPaths`. @defaultValue in Node, the `dist/` folder of the installed
   * `@tensorflow/tfjs-backend-wasm`; in browsers, tfjs' default (the folder of the page, or of a
   * classic script)
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * The app's own `import * as wasm from '@tensorflow/tfjs-backend-wasm'`. In a bundle trainkit
   * cannot import it by name, so `wasmPaths` and `threads` need it. In Node it is found itself.
   */
  wasmModule?: WasmModule;
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
  /** Where the arithmetic runs: `'cpu'` also for a GPU backend on a software adapter (SwiftShader, llvmpipe). */
  device: 'cpu' | 'gpu';
  /** The GPU adapter behind webgpu/webgl, as far as the platform reveals it. */
  adapter?: AdapterInfo;
  /** Whose training (gradient) kernels run: the backend's own, or trainkit's (wasm). */
  trainingKernels: 'native' | 'trainkit';
  /** Worker threads used by the backend (1 where it is single-threaded or unknown). */
  threads: number;
  /** One line per backend `auto` skipped, saying why. */
  skipped: string[];
  /** Options that could not take effect, with the reason (also sent to `opts.log`). */
  warnings: string[];
}

interface Attempt {
  tfjsName: string;
  device: 'cpu' | 'gpu';
  trainingKernels: 'native' | 'trainkit';
  threads: number;
  adapter?: AdapterInfo;
}

/** Thrown inside attempts: the reason a backend is unavailable, plus how to get it. */
class Unavailable extends Error {
  constructor(
    message: string,
    readonly install: string,
    readonly argument = 'name',
  ) {
    super(message);
  }
}

/** `Unavailable.install` for causes that installing a package does not fix. */
const NO_INSTALL = 'none';

/** How long wasm worker threads may take to start on a page before useBackend gives up. */
const THREAD_START_MS = 60_000;

const INSTALL: Record<BackendName, string> = {
  'node-gpu': 'npm i @tensorflow/tfjs-node-gpu (needs CUDA 11.2 + cuDNN 8.1 and the libtensorflow download)',
  node: 'npm i @tensorflow/tfjs-node (its install downloads libtensorflow)',
  webgpu: 'npm i @tensorflow/tfjs-backend-webgpu (and in Node the `webgpu` package with a Vulkan/Metal/D3D12 adapter)',
  webgl: "npm i @tensorflow/tfjs-backend-webgl (or @tensorflow/tfjs) and import it in the app; runs in browsers",
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

/** Why tfjs's wasm backend can no longer start on this page (its first, threaded start failed), if it cannot. */
let wasmStartFailure: string | undefined;

/**
 * Forgets a backend initialisation that will never settle (tfjs's wasm when its worker threads died): while it is
 * pending, `tf.ready()` waits for it and every op throws "has not yet been initialized", on any backend. Bumping the
 * id makes tfjs discard it, should it ever resolve.
 */
function abandonPendingInit(): void {
  const engine = tf.engine() as unknown as { pendingBackendInit: unknown; pendingBackendInitId: number };
  engine.pendingBackendInitId += 1;
  engine.pendingBackendInit = null;
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

async function dawnGpu(): Promise<GpuLike> {
  const dawnPath = await resolveDawn();
  if (dawnPath == null) throw new Unavailable('the `webgpu` package (Dawn for Node) is not installed', 'npm i webgpu @tensorflow/tfjs-backend-webgpu');
  const dawn = await importOrExplain('webgpu', 'webgpu');
  const create = dawn['create'] as ((flags: string[]) => unknown) | undefined;
  const globals = dawn['globals'] as Record<string, unknown> | undefined;
  if (typeof create !== 'function') throw new Unavailable('the `webgpu` package exports no create()', INSTALL.webgpu);
  if (globals) Object.assign(globalThis, globals);
  const gpu = create([]) as GpuLike;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (adapter == null) throw new Unavailable(explainNoDawnAdapter(await vulkanFacts(dawnPath)), INSTALL.webgpu);
  return gpu;
}

interface GpuLike {
  requestAdapter(opts?: { powerPreference?: string }): Promise<unknown>;
}

function softwareSkip(api: string, a: AdapterInfo): Unavailable {
  const what = [a.vendor, a.architecture, a.description, a.renderer].filter((s) => s != null).join(', ');
  return new Unavailable(
    `software adapter (${a.software}${what ? `: ${what}` : ''}): it runs on the CPU, where wasm is faster; ask for '${api}' by name to use it anyway`,
    '',
  );
}

async function tryWebgpu(auto: boolean): Promise<Attempt> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu == null && isNode()) {
    const gpu = await dawnGpu();
    if (g.navigator == null) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else {
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    }
  }
  const gpu = g.navigator?.gpu;
  if (gpu == null) throw new Unavailable('this platform has no navigator.gpu (WebGPU is off or unsupported)', INSTALL.webgpu);
  // The same request tfjs' webgpu backend makes.
  const powerPreference = tf.env().getFlags()['WEBGPU_USE_LOW_POWER_GPU'] === true ? 'low-power' : 'high-performance';
  const adapter = await gpu.requestAdapter({ powerPreference }).catch(() => null);
  if (adapter == null) throw new Unavailable('navigator.gpu.requestAdapter() returned no adapter', INSTALL.webgpu);
  const info = await webgpuAdapterInfo(adapter);
  if (auto && info.software != null) throw softwareSkip('webgpu', info);
  await needFactory('webgpu', '@tensorflow/tfjs-backend-webgpu');
  await activate('webgpu');
  return { tfjsName: 'webgpu', device: info.software != null ? 'cpu' : 'gpu', trainingKernels: 'native', threads: 1, adapter: info };
}

async function tryWebgl(auto: boolean): Promise<Attempt> {
  if (isNode()) throw new Unavailable('WebGL needs a browser (Node has no WebGL context)', INSTALL.webgl);
  const info = probeWebgl();
  if (info == null) throw new Unavailable('no WebGL2 context on this page', INSTALL.webgl);
  if (auto && info.software != null) throw softwareSkip('webgl', info);
  await needFactory('webgl', '@tensorflow/tfjs-backend-webgl');
  await activate('webgl');
  return { tfjsName: 'webgl', device: info.software != null ? 'cpu' : 'gpu', trainingKernels: 'native', threads: 1, adapter: info };
}

/** Makes sure tfjs has a factory for `tfjsName`: registered by the app, or (Node only) imported here. */
async function needFactory(tfjsName: string, specifier: string): Promise<Record<string, unknown> | undefined> {
  if (tf.findBackendFactory(tfjsName) != null) return undefined;
  if (!isNode()) {
    throw new Unavailable(
      `${specifier} is not in this bundle: import it in the app (import '${specifier}'); a browser cannot load a package by name`,
      `npm i ${specifier}, then import '${specifier}' in the app`,
    );
  }
  const mod = await importOrExplain(specifier, tfjsName as BackendName);
  if (tf.findBackendFactory(tfjsName) == null) throw new Unavailable(`${specifier} loaded but registered no '${tfjsName}' backend (two copies of tfjs-core?)`, 'dedupe @tensorflow/tfjs-core');
  return mod;
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

/** Whether this page may run wasm threads, and if not, why. */
function threadsBlocked(): string | undefined {
  if (isNode()) return undefined; // tfjs turns threads off in Node (tfjs#3830); initNodeWasmThreads starts them
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
  if (g.crossOriginIsolated !== true) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  if (g.SharedArrayBuffer == null) return 'this browser has no SharedArrayBuffer';
  return undefined;
}

async function tryWasm(opts: UseBackendOptions, warnings: string[]): Promise<Attempt> {
  let mod = opts.wasmModule as WasmModule | undefined;
  if (mod == null && isNode()) {
    // Node: the guarded import returns the same module instance an app's own import registered.
    try {
      mod = (await importOrExplain('@tensorflow/tfjs-backend-wasm', 'wasm')) as WasmModule;
    } catch (err) {
      if (tf.findBackendFactory('wasm') == null) throw err;
    }
  }
  await needFactory('wasm', '@tensorflow/tfjs-backend-wasm');
  if (wasmStartFailure != null) throw new Unavailable(wasmStartFailure, NO_INSTALL, 'threads'); // its init hangs in tfjs

  const initialised = (tf.engine().registry as Record<string, unknown>)['wasm'] != null;
  const blocked = threadsBlocked();
  let threads = opts.threads;
  if (threads != null && threads > 1 && blocked != null) {
    warnings.push(`threads: ${threads} ignored: ${blocked}; wasm runs 1 thread`);
    threads = undefined;
  }
  const paths = opts.wasmPaths ?? (isNode() ? await nodeWasmDir() : undefined);
  if (initialised) {
    if (opts.wasmPaths != null || threads != null) {
      warnings.push('wasmPaths/threads ignored: the wasm backend was already initialised (call useBackend before anything else uses wasm)');
    }
  } else if (isNode() && threads != null && threads > 1) {
    await initNodeWasmThreads(threads, opts.wasmPaths != null ? { wasmPaths: opts.wasmPaths } : {});
  } else {
    const wanted = opts.wasmPaths != null || (threads != null && blocked == null);
    if (wanted && (mod?.setWasmPaths == null || mod.setThreadsCount == null)) {
      throw new TrainkitError(
        'INVALID_ARGUMENT',
        "wasmPaths/threads need the wasm backend's module in a bundle: import * as wasm from '@tensorflow/tfjs-backend-wasm' and pass useBackend('wasm', { wasmModule: wasm, ... })",
        'wasmModule',
      );
    }
    if (isNode() && typeof paths === 'string') {
      const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
      const missing = await missingNodeWasmFile(paths, simd);
      if (missing != null) throw new Unavailable(`the wasm binary ${missing} does not exist (wasmPaths ${JSON.stringify(paths)})`, INSTALL.wasm, 'wasmPaths');
    }
    try {
      if (paths != null) mod?.setWasmPaths?.(paths);
    } catch (err) {
      throw invalidArgument('wasmPaths', paths, `a prefix ending in '/' or a map with all three .wasm file names (${firstLine(err)})`);
    }
    if (threads != null) mod?.setThreadsCount?.(blocked == null ? threads : 1);
  }
  // Threads on a page: a worker that dies at start-up would leave tfjs pending forever (a minifier that renames
  // identifiers breaks tfjs's threaded workers), so fail with the cause instead.
  const threaded = !isNode() && !initialised && threads != null && threads > 1;
  const start = threaded ? () => failOnWorkerError(() => activate('wasm'), THREAD_START_MS) : () => activate('wasm');
  const { error, failures } = await watchWasmFetches(start);
  if (error != null) {
    if (failures.length > 0) {
      throw new Unavailable(`its .wasm file could not be fetched: ${failures[0]}; serve @tensorflow/tfjs-backend-wasm/dist/*.wasm there or pass wasmPaths`, INSTALL.wasm, 'wasmPaths');
    }
    if (threaded && !(error instanceof Unavailable)) {
      abandonPendingInit();
      wasmStartFailure = `${firstLine(error)} (threads: ${threads}). A minified bundle breaks tfjs's threaded wasm workers (they run the source text of its Emscripten factory, whose names the minifier changed): build without minification (see the vite/webpack recipes) or run without threads; tfjs cannot start wasm again on this page`;
      throw new Unavailable(wasmStartFailure, NO_INSTALL, 'threads');
    }
    throw error;
  }
  registerWasmTrainingKernels();
  const used = wasmThreadsInUse(tf.backend(), mod);
  // trainkit's SIMD kernels split over worker threads of their own on the threaded build: start them now.
  if (used > 1 && simdKernels(tf.backend()) != null && (await simdPoolReady(tf.backend())) == null) {
    warnings.push(`trainkit's SIMD kernels could not start their worker threads (a Content-Security-Policy without worker-src blob:?): they run on one thread`);
  }
  if (threads != null && used !== threads && !initialised) {
    const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
    warnings.push(`threads: ${threads} requested, tfjs runs ${used} (it caps wasm threads at half of navigator.hardwareConcurrency${cores != null ? ` = ${cores}` : ''}, and at 8)`);
  }
  return { tfjsName: 'wasm', device: 'cpu', trainingKernels: 'trainkit', threads: used };
}

async function tryCpu(): Promise<Attempt> {
  await needFactory('cpu', '@tensorflow/tfjs-backend-cpu');
  await activate('cpu');
  return { tfjsName: 'cpu', device: 'cpu', trainingKernels: 'native', threads: 1 };
}

function attempt(name: BackendName, auto: boolean, opts: UseBackendOptions, warnings: string[]): Promise<Attempt> {
  switch (name) {
    case 'node-gpu':
      return tryNode(true);
    case 'node':
      return tryNode(false);
    case 'webgpu':
      return tryWebgpu(auto);
    case 'webgl':
      return tryWebgl(auto);
    case 'wasm':
      return tryWasm(opts, warnings);
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
  if (!isNode()) {
    throw new TrainkitError(
      'BACKEND_UNAVAILABLE',
      "gradients are not registered: import '@tensorflow/tfjs' (or '@tensorflow/tfjs-core/dist/register_all_gradients') in the app; pass { gradients: false } for inference only",
      'gradients',
    );
  }
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
 * tfjs-node, webgpu and webgl (only on a hardware adapter: a software one such as SwiftShader is
 * tried again after wasm, before cpu), wasm (with trainkit's kernels), cpu. In Node each optional
 * backend package is loaded with a guarded dynamic `import()`; in browsers backends are taken from
 * tfjs' registry, where the app's imports put them. A missing or broken one is skipped with a
 * one-line reason (in `skipped` and `opts.log`).
 *
 * @param name - a backend, or `'auto'`. @defaultValue 'auto'
 * @param opts - {@link UseBackendOptions}
 * @returns the selected backend's {@link BackendInfo} (plain data, nothing to dispose)
 * @throws TrainkitError `BACKEND_UNAVAILABLE` when the named backend (or, for `auto`, every one)
 *   cannot be used, with the reason and the install command (argument `wasmPaths` when the `.wasm`
 *   file is missing, naming its URL); `INVALID_ARGUMENT` for a bad name/option, or `wasmPaths`/`threads`
 *   in a bundle without `wasmModule`
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
  const wm = opts.wasmModule as unknown;
  if (wm !== undefined && (wm == null || typeof wm !== 'object' || typeof (wm as WasmModule).setWasmPaths !== 'function')) {
    throw invalidArgument('wasmModule', wm, "the namespace of @tensorflow/tfjs-backend-wasm (import * as wasm from '@tensorflow/tfjs-backend-wasm')");
  }
  const log = opts.log ?? (() => {});
  const skipped: string[] = [];
  const warnings: string[] = [];
  if (opts.gradients !== false) await ensureGradients();
  const auto = name === 'auto';
  // A GPU backend on a software adapter is put after wasm, not dropped: it still beats the JS cpu backend.
  const queue: BackendName[] = auto ? [...AUTO_ORDER] : [name];
  const deferred: BackendName[] = [];
  for (let i = 0; i < queue.length; i++) {
    const candidate = queue[i]!;
    const lenient = auto && !deferred.includes(candidate);
    try {
      const got = await attempt(candidate, lenient, opts, warnings);
      for (const w of warnings) log(`warning: ${w}`);
      const info: BackendInfo = { name: candidate, ...got, skipped, warnings };
      const on = info.adapter?.software != null ? `, software adapter: ${info.adapter.software}` : '';
      log(`backend: ${candidate} (${info.device}${on}, ${info.trainingKernels} training kernels, ${info.threads} thread(s))`);
      return info;
    } catch (err) {
      if (err instanceof TrainkitError) throw err;
      const reason = err instanceof Unavailable ? err.message : firstLine(err);
      const install = err instanceof Unavailable && err.install !== '' ? err.install : INSTALL[candidate];
      const line = `skip ${candidate}: ${reason}`;
      skipped.push(line);
      log(line);
      if (lenient && reason.startsWith('software adapter')) {
        deferred.push(candidate);
        queue.splice(queue.indexOf('cpu'), 0, candidate);
      }
      if (!auto) {
        const argument = err instanceof Unavailable ? err.argument : 'name';
        const hint = install === NO_INSTALL ? '' : ` Install: ${install}`;
        throw new TrainkitError('BACKEND_UNAVAILABLE', `backend '${candidate}' is unavailable: ${reason}.${hint}`, argument);
      }
    }
  }
  throw new TrainkitError('BACKEND_UNAVAILABLE', `no backend could be used:\n${skipped.join('\n')}`, 'name');
}
