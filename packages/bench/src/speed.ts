/**
 * `pnpm bench speed`: training step time and peak memory per backend, for the reference CNN
 * (conv32-pool-conv64-pool-dense128-dense10 on 28x28x1), CIFAR-style ResNet-20/56, VGG-11 (x0.5) and
 * MobileNetV2 (alpha 0.25; 0.5 does not fit the 4 GiB wasm heap at batch 128) at 32x32x3, Adam, batch 128, plus the same step in PyTorch
 * (`python/torch_speed.py`) when a `python3` with torch is there.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initNodeWasmThreads, registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '@trainkit/backend';
import { webgpuAdapter } from './adapter';
import { mobileNetV2, resnet, vgg } from './models';
import { batchNormalization } from './models/batch-norm';

export type SpeedModel = 'smallCnn' | 'resnet20' | 'resnet56' | 'vgg11' | 'mobilenetv2';

/** Every model of the speed table. */
export const SPEED_MODELS: readonly SpeedModel[] = ['smallCnn', 'resnet20', 'resnet56', 'vgg11', 'mobilenetv2'];

/**
 * A backend row of the speed table: trainkit's names, plus `wasm-stock` (wasm without trainkit's kernels) and
 * `pytorch` (the PyTorch peer script, CPU).
 */
export type SpeedBackend = 'node-gpu' | 'node' | 'webgpu' | 'wasm' | 'wasm-stock' | 'cpu' | 'pytorch';

export interface SpeedOptions {
  /** @defaultValue every backend: node-gpu, node, webgpu, wasm, wasm-stock, cpu (unavailable ones get a row with the reason) */
  backends?: string[];
  /** @defaultValue 128 */
  batchSize?: number;
  /** Timed steps per (model, backend); the median is reported. @defaultValue 10 */
  steps?: number;
  /** Untimed steps first. @defaultValue 2 */
  warmup?: number;
  /** @defaultValue ['smallCnn', 'resnet20'] */
  models?: SpeedModel[];
  /**
   * CPU threads of wasm (Node: {@link initNodeWasmThreads}, before wasm first starts) and of PyTorch.
   * @defaultValue the machine's logical cores, at most 8
   */
  threads?: number;
  /**
   * Python for the `pytorch` row. @defaultValue the first of `$TRAINKIT_PYTHON`, `python3`, `/usr/bin/python3`
   * that imports torch (none: the row is skipped with the reason)
   */
  python?: string;
  /** Timed steps on the stock cpu backend (one reference-CNN step takes about a minute). @defaultValue 1 */
  cpuSteps?: number;
  /**
   * Extra untimed steps after the timed ones, over which tensor and wasm-heap growth are measured
   * (the issue asks for 200). @defaultValue 0 (growth is then measured over the timed steps)
   */
  memorySteps?: number;
  /** Models the stock cpu backend runs (ResNet-20 takes many minutes per step there). @defaultValue ['smallCnn'] */
  cpuModels?: SpeedModel[];
  /**
   * Runs each wasm row in a fresh Node process (as PyTorch's row runs in a fresh Python), so its peak RSS growth
   * and wasm heap growth are that model's alone. @defaultValue false (the CLI turns it on)
   */
  isolate?: boolean;
  log?: (line: string) => void;
}

export interface SpeedRow {
  model: SpeedModel;
  backend: string;
  device?: 'cpu' | 'gpu';
  /** The GPU adapter (webgpu), e.g. 'nvidia hopper (NVIDIA H200)'. */
  adapter?: string;
  trainingKernels?: string;
  threads?: number;
  batchSize: number;
  /** Timed steps (after warm-up). */
  steps: number;
  /** Median wall time of one Adam step (forward, backward, update), ms. */
  stepMs?: number;
  /** Median process CPU time of one step, ms (less sensitive to other load on the machine). */
  cpuMs?: number;
  /** `tf.profile` peakBytes of one step. */
  peakBytes?: number;
  /** Tensors left behind over the growth window (should be 0). */
  tensorGrowth?: number;
  /** wasm heap growth over the growth window, bytes (wasm only; should be 0 once warm). */
  wasmHeapGrowth?: number;
  /** Steps in the growth window (`memorySteps`, else the timed steps). */
  growthSteps?: number;
  /**
   * What `peakBytes` measures: `tf.profile` peakBytes (counts a buffer once per tensor viewing it, and misses
   * kernels' own scratch), peak RSS growth (isolated wasm rows, PyTorch), or CUDA max allocated.
   */
  peakKind?: string;
  /** Peak RSS growth of the process over warm-up and timed steps, bytes (Node rows). */
  rssGrowthBytes?: number;
  /** wasm heap size growth over warm-up and timed steps, bytes: an upper bound of the heap's high-water (wasm rows). */
  wasmHeapPeakGrowth?: number;
  /** `tf.profile` peakBytes of the profiled step. */
  profilePeakBytes?: number;
  /**
   * The five kernels that took longest in the profiled step, `name: ms`, with the achieved GFLOP/s of
   * convolutions and matrix products (`name: ms @ G GFLOP/s`). Op wrappers (`…__op`) that only nest
   * other kernels are left out.
   */
  topKernels?: string[];
  /** Why this row has no numbers. */
  skipped?: string;
}

export interface SpeedResult {
  machine: { cpus: string; cores: number; node: string; platform: string; loadAvg?: number[] };
  date: string;
  rows: SpeedRow[];
}

/** conv32-pool-conv64-pool-dense128-dense10 on 28x28x1 (the issue's reference CNN). */
export function buildSmallCnn(seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(3) }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: init(4) }));
  return m;
}

/** CIFAR ResNet-20 (He et al. 2016, §4.2): 3 stages x 3 basic blocks, 16/32/64 filters, 1x1 projection shortcuts. */
export function buildResnet20(seed = 1): tf.LayersModel {
  let s = seed * 1000;
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number) =>
    tf.layers
      .conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: s++ }) })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [32, 32, 3] });
  let h = relu(bn(conv(input, 16, 3, 1)));
  for (const [stage, filters] of [16, 32, 64].entries()) {
    for (let block = 0; block < 3; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      const r = bn(conv(relu(bn(conv(h, filters, 3, strides))), filters, 3, 1));
      const shortcut = strides === 1 ? h : bn(conv(h, filters, 1, strides));
      h = relu(tf.layers.add().apply([r, shortcut]) as tf.SymbolicTensor);
    }
  }
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const INPUT: Record<SpeedModel, [number, number, number]> = {
  smallCnn: [28, 28, 1],
  resnet20: [32, 32, 3],
  resnet56: [32, 32, 3],
  vgg11: [32, 32, 3],
  mobilenetv2: [32, 32, 3],
};

function buildModel(model: SpeedModel): tf.LayersModel {
  switch (model) {
    case 'smallCnn':
      return buildSmallCnn();
    case 'resnet20':
      return buildResnet20();
    case 'resnet56':
      return resnet({ depth: 56, inputShape: INPUT.resnet56 });
    case 'vgg11':
      return vgg({ inputShape: INPUT.vgg11, widthMultiplier: 0.5 });
    case 'mobilenetv2':
      return mobileNetV2({ inputShape: INPUT.mobilenetv2, alpha: 0.25 });
  }
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * Floating-point operations of one kernel call (2 per multiply-add) for convolutions, their gradients and
 * matrix products; undefined for the rest.
 *
 * @internal
 */
export function kernelFlops(name: string, inputShapes: ReadonlyArray<readonly number[] | undefined>, outputShapes: ReadonlyArray<readonly number[] | undefined>): number | undefined {
  const [a, b] = inputShapes;
  const out = outputShapes[0];
  if (a == null || b == null || out == null) return undefined;
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': // out [B,OH,OW,Co], filter [KH,KW,Ci,Co]
      return 2 * prod(out) * prod(b.slice(0, 3));
    case 'Conv2DBackpropInput': // dy [B,OH,OW,Co], filter [KH,KW,Ci,Co]
      return 2 * prod(a) * prod(b.slice(0, 3));
    case 'Conv2DBackpropFilter': // x, dy [B,OH,OW,Co] -> [KH,KW,Ci,Co]
      return 2 * prod(b) * prod(out.slice(0, 3));
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D': // out [B,OH,OW,C·m], filter [KH,KW,C,m]
      return 2 * prod(out) * prod(b.slice(0, 2));
    case 'DepthwiseConv2dNativeBackpropInput': // dy, filter
      return 2 * prod(a) * prod(b.slice(0, 2));
    case 'DepthwiseConv2dNativeBackpropFilter': // x, dy -> [KH,KW,C,m]
      return 2 * prod(b) * prod(out.slice(0, 2));
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // out [..., M, N]; the contracted size is the dim of `a` that is neither M nor batch
      const k = prod(a) / (prod(out) / (out[out.length - 1] as number));
      return 2 * prod(out) * k;
    }
    default:
      return undefined;
  }
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Peak resident set size of this process so far, bytes. */
function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function wasmHeapBytes(): number | undefined {
  const be = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return be.wasm?.HEAPU8?.buffer.byteLength;
}

async function selectBackend(name: string): Promise<{ device: 'cpu' | 'gpu'; trainingKernels: string; threads: number; adapter?: string }> {
  if (name === 'wasm-stock') {
    const info = await useBackend('wasm');
    unregisterWasmTrainingKernels();
    return { device: info.device, trainingKernels: 'stock', threads: info.threads };
  }
  const info = await useBackend(name as 'wasm');
  if (name === 'wasm') registerWasmTrainingKernels();
  const adapter = await webgpuAdapter(info.name, info);
  return { device: info.device, trainingKernels: info.trainingKernels, threads: info.threads, ...(adapter ? { adapter } : {}) };
}

async function measure(
  model: SpeedModel,
  batchSize: number,
  steps: number,
  warmup: number,
  memorySteps: number,
): Promise<Omit<SpeedRow, 'model' | 'backend' | 'batchSize' | 'steps'>> {
  const net = buildModel(model);
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batchSize, ...INPUT[model]], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 8) as tf.Tensor1D, 10));
  const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
  const run = async () => {
    const l = step();
    await l?.data();
    l?.dispose();
  };
  const rss0 = maxRssBytes();
  const heap0 = wasmHeapBytes();
  try {
    for (let i = 0; i < warmup; i++) await run();
    let tensors = tf.memory().numTensors;
    let heap = wasmHeapBytes();
    const wall: number[] = [];
    const cpu: number[] = [];
    const profiled = async () => {
      const p = await tf.profile(async () => {
        const l = step();
        await l?.data();
        return l as tf.Tensor;
      });
      tf.dispose(p.result as tf.Tensor);
      return p;
    };
    // A single timed step (the stock cpu backend: about a minute each) is also the profiled one.
    let prof: Awaited<ReturnType<typeof profiled>> | undefined;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const c0 = processCpuMs();
      if (steps === 1) prof = await profiled();
      else await run();
      wall.push(performance.now() - t0);
      cpu.push(processCpuMs() - c0);
    }
    if (memorySteps > 0) {
      tensors = tf.memory().numTensors;
      heap = wasmHeapBytes();
      for (let i = 0; i < memorySteps; i++) await run();
    }
    // Without warm-up the first step creates the optimizer's slots: growth is then not measured.
    const measured = warmup > 0 || memorySteps > 0;
    const tensorGrowth = measured ? tf.memory().numTensors - tensors : undefined;
    const heapAfter = measured ? wasmHeapBytes() : undefined;
    const rssGrowthBytes = maxRssBytes() - rss0;
    const heapEnd = wasmHeapBytes();
    prof ??= await profiled();
    const byKernel = new Map<string, { ms: number; flops: number | undefined }>();
    for (const k of prof.kernels) {
      if (k.name.endsWith('__op')) continue;
      const e = byKernel.get(k.name) ?? { ms: 0, flops: 0 };
      e.ms += Number(k.kernelTimeMs);
      const f = kernelFlops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]);
      e.flops = f == null || e.flops == null ? undefined : e.flops + f;
      byKernel.set(k.name, e);
    }
    const topKernels = [...byKernel.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 5)
      .map(([k, e]) => `${k}: ${e.ms.toFixed(0)}` + (e.flops != null && e.flops > 0 && e.ms > 0 ? ` @ ${(e.flops / e.ms / 1e6).toFixed(1)} GFLOP/s` : ''));
    return {
      stepMs: median(wall),
      cpuMs: median(cpu),
      peakBytes: prof.peakBytes,
      profilePeakBytes: prof.peakBytes,
      rssGrowthBytes,
      ...(heap0 != null && heapEnd != null ? { wasmHeapPeakGrowth: heapEnd - heap0 } : {}),
      ...(tensorGrowth != null ? { tensorGrowth, growthSteps: memorySteps > 0 ? memorySteps : steps } : {}),
      ...(heap != null && heapAfter != null ? { wasmHeapGrowth: heapAfter - heap } : {}),
      topKernels,
    };
  } finally {
    tf.dispose([x, y]);
    opt.dispose();
    net.dispose();
  }
}

/** A Python that imports torch, or why there is none. @internal */
export async function findTorchPython(explicit?: string): Promise<{ python?: string; reason?: string }> {
  const { spawnSync } = await import('node:child_process');
  const env = process.env['TRAINKIT_PYTHON'];
  const candidates = explicit != null ? [explicit] : [...(env ? [env] : []), 'python3', '/usr/bin/python3'];
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python: py };
    tried.push(`${py}: ${r.error ? r.error.message : ((r.stderr ?? '').trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { reason: `no python3 with torch (${tried.join('; ')}); install python3 and torch (Debian: apt install python3-torch) for this row` };
}

async function torchScript(): Promise<string> {
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const f = join(dir, 'python', 'torch_speed.py');
    if (existsSync(f)) return f;
    dir = dirname(dir);
  }
  throw new Error('python/torch_speed.py not found next to the bench');
}

/** One model's PyTorch step in a fresh Python process (so its peak RSS is that model's). */
async function measureTorch(python: string, model: SpeedModel, batchSize: number, steps: number, warmup: number, threads: number): Promise<SpeedRow> {
  const { spawnSync } = await import('node:child_process');
  const args = [await torchScript(), '--models', model, '--batch', `${batchSize}`, '--steps', `${steps}`, '--warmup', `${warmup}`, '--threads', `${threads}`];
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 3_600_000, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch_speed.py failed: ${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
    torch: string;
    threads: number;
    rows: Array<{ stepMs: number; cpuMs: number; peakBytes: number; peakKind: string }>;
  };
  const row = out.rows[0];
  if (row == null) throw new Error('torch_speed.py printed no row');
  return { model, backend: 'pytorch', device: 'cpu', trainingKernels: `torch ${out.torch}`, threads: out.threads, batchSize, steps, ...row };
}

/** The bench's built speed module (dist/speed.js, not the index: it loads wasm on import), for isolated rows. */
async function benchEntry(): Promise<string> {
  const { existsSync, readFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@trainkit/bench') {
      const entry = join(dir, 'dist', 'speed.js');
      if (!existsSync(entry)) throw new Error(`${entry} is missing: build the bench first (pnpm build)`);
      return entry;
    }
    dir = dirname(dir);
  }
  throw new Error('@trainkit/bench package.json not found above the speed module');
}

/** One wasm row in a fresh Node process (so its peak RSS growth and heap growth are that model's alone). */
async function measureIsolated(o: { model: SpeedModel; backend: string; batchSize: number; steps: number; warmup: number; threads: number; memorySteps: number }): Promise<SpeedRow> {
  const { spawn } = await import('node:child_process');
  const { pathToFileURL } = await import('node:url');
  const args = { backends: [o.backend], models: [o.model], batchSize: o.batchSize, steps: o.steps, warmup: o.warmup, threads: o.threads, memorySteps: o.memorySteps };
  const code = `import { runSpeed } from ${JSON.stringify(pathToFileURL(await benchEntry()).href)};
const r = await runSpeed(${JSON.stringify(args)});
process.stdout.write('\\n' + JSON.stringify(r.rows[0]) + '\\n');
process.exit(0);`;
  // A script file, not `node -e`: under `-e` the same threaded step measured ~1.4x slower (wall, CPU alike).
  const { mkdtempSync, renameSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'trainkit-speed-'));
  const script = join(dir, 'row.mjs');
  writeFileSync(`${script}.tmp`, code);
  renameSync(`${script}.tmp`, script);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(stdout) : reject(new Error(`speed child exited ${status}: ${stderr.split('\n').find((l) => /Error/.test(l)) ?? stderr.trim().split('\n').pop() ?? ''}`))));
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
  const row = JSON.parse(out.trim().split('\n').pop() ?? '{}') as SpeedRow;
  if (row.skipped != null || row.rssGrowthBytes == null) return row;
  return { ...row, peakBytes: row.rssGrowthBytes, peakKind: 'peak RSS growth (fresh process)' };
}

/**
 * Measures one Adam training step per (model, backend): median wall and CPU time over `steps`
 * timed steps after `warmup`, `tf.profile` peakBytes, tensor and wasm-heap growth, top kernels.
 * Models are the outer loop, so each model's rows (PyTorch's included) run close together in time.
 * Unavailable backends and runs that fail (stock wasm lacks Conv2DBackpropFilter) become rows with
 * a one-line `skipped` reason.
 */
export async function runSpeed(opts: SpeedOptions = {}): Promise<SpeedResult> {
  const log = opts.log ?? (() => {});
  const batchSize = opts.batchSize ?? 128;
  const steps = opts.steps ?? 10;
  const warmup = opts.warmup ?? 2;
  const models = opts.models ?? ['smallCnn', 'resnet20'];
  const backends = opts.backends ?? ['node-gpu', 'node', 'webgpu', 'wasm', 'wasm-stock', 'cpu', 'pytorch'];
  const cpuSteps = opts.cpuSteps ?? 1;
  const cpuModels = opts.cpuModels ?? ['smallCnn'];
  const memorySteps = opts.memorySteps ?? 0;
  const os = await import('node:os');
  const threads = opts.threads ?? Math.min(8, Math.max(1, os.cpus().length));
  const result: SpeedResult = {
    machine: {
      cpus: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    date: new Date().toISOString(),
    rows: [],
  };
  const isolate = opts.isolate === true;
  const prev = tf.getBackend();
  const wasmStarted = () => (tf.engine().registry as Record<string, unknown>)['wasm'] != null;
  if (!isolate && backends.some((b) => b === 'wasm' || b === 'wasm-stock') && !wasmStarted()) {
    const n = await initNodeWasmThreads(threads);
    log(`speed: wasm started with ${n} thread(s)`);
  }
  const torch = backends.includes('pytorch') ? await findTorchPython(opts.python) : {};
  const available = new Map<string, Awaited<ReturnType<typeof selectBackend>> | string>();
  try {
    for (const model of models) {
      for (const backend of backends) {
        if (backend === 'pytorch') {
          if (torch.python == null) {
            result.rows.push({ model, backend, batchSize, steps: 0, skipped: torch.reason ?? 'no python' });
            continue;
          }
          log(`speed: ${model} on pytorch (${torch.python}, ${threads} thread(s)): ${warmup} warm-up + ${steps} timed steps at batch ${batchSize}`);
          try {
            const row = await measureTorch(torch.python, model, batchSize, steps, warmup, threads);
            result.rows.push(row);
            log(`speed: ${model} on pytorch: ${row.stepMs?.toFixed(0)} ms/step (cpu ${row.cpuMs?.toFixed(0)} ms)`);
          } catch (err) {
            const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
            result.rows.push({ model, backend, batchSize, steps: 0, skipped: reason });
            log(`speed: ${model} on pytorch failed: ${reason}`);
          }
          continue;
        }
        if (isolate && (backend === 'wasm' || backend === 'wasm-stock')) {
          log(`speed: ${model} on ${backend} (fresh process, ${threads} thread(s)): ${warmup} warm-up + ${steps} timed steps at batch ${batchSize}`);
          try {
            const row = await measureIsolated({ model, backend, batchSize, steps, warmup, threads, memorySteps });
            result.rows.push(row);
            if (row.skipped != null) log(`speed: ${model} on ${backend} skipped: ${row.skipped}`);
            else log(`speed: ${model} on ${backend}: ${row.stepMs?.toFixed(0)} ms/step (cpu ${row.cpuMs?.toFixed(0)} ms), peak RSS growth ${(Number(row.peakBytes) / 2 ** 20).toFixed(0)} MiB`);
          } catch (err) {
            const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
            result.rows.push({ model, backend, batchSize, steps: 0, skipped: reason });
            log(`speed: ${model} on ${backend} failed: ${reason}`);
          }
          continue;
        }
        let info = available.get(backend);
        try {
          if (info === undefined || typeof info !== 'string') info = await selectBackend(backend);
        } catch (err) {
          info = err instanceof Error ? (err.message.split('\n')[0] ?? '').replace(/ Install: .*$/, '') : String(err);
          log(`speed: skip ${backend}: ${info}`);
        }
        available.set(backend, info);
        if (typeof info === 'string') {
          result.rows.push({ model, backend, batchSize, steps: 0, skipped: info });
          continue;
        }
        try {
          const isCpu = backend === 'cpu';
          if (isCpu && !cpuModels.includes(model)) {
            result.rows.push({ model, backend, ...info, batchSize, steps: 0, skipped: 'not run on stock cpu (minutes per step; pass cpuModels)' });
            continue;
          }
          const n = isCpu ? cpuSteps : steps;
          const w = isCpu ? 0 : warmup;
          log(`speed: ${model} on ${backend}: ${w} warm-up + ${n} timed steps at batch ${batchSize}`);
          try {
            const m = await measure(model, batchSize, n, w, isCpu ? 0 : memorySteps);
            result.rows.push({ model, backend, ...info, batchSize, steps: n, peakKind: 'tf.profile peakBytes', ...m });
            log(`speed: ${model} on ${backend}: ${m.stepMs?.toFixed(0)} ms/step (cpu ${m.cpuMs?.toFixed(0)} ms), peak ${(Number(m.peakBytes) / 2 ** 20).toFixed(0)} MiB`);
          } catch (err) {
            const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
            result.rows.push({ model, backend, ...info, batchSize, steps: 0, skipped: reason });
            log(`speed: ${model} on ${backend} failed: ${reason}`);
          }
        } finally {
          if (backend === 'wasm-stock') registerWasmTrainingKernels();
        }
      }
    }
  } finally {
    if (prev != null) await tf.setBackend(prev).catch(() => false);
  }
  return result;
}

const ratio = (a: number | undefined, b: number | undefined) => (a != null && b != null && b > 0 ? a / b : undefined);

/** The result as a Markdown table with speedups against stock cpu and ratios to PyTorch where they ran. */
export function formatSpeedTable(result: SpeedResult): string {
  const lines = [
    `Machine: ${result.machine.cpus} (${result.machine.cores} cores), Node ${result.machine.node}, ${result.machine.platform}` +
      (result.machine.loadAvg ? `, load avg ${result.machine.loadAvg.join('/')}` : ''),
    '',
    '| model | backend | kernels | threads | batch | steps | step ms (median) | CPU ms | peak MiB | vs PyTorch (wall / CPU / peak) | vs stock cpu | tensors / wasm heap growth | top kernels (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of result.rows) {
    if (r.skipped != null) {
      lines.push(`| ${r.model} | ${r.backend} | ${r.trainingKernels ?? ''} | ${r.threads ?? ''} | ${r.batchSize} | - | - | - | - | - | - | - | skipped: ${r.skipped.replace(/\|/g, '/')} |`);
      continue;
    }
    const cpu = result.rows.find((c) => c.model === r.model && c.backend === 'cpu' && c.stepMs != null);
    const sc = ratio(cpu?.stepMs, r.stepMs);
    const scc = ratio(cpu?.cpuMs, r.cpuMs);
    const speedup = sc != null && scc != null ? `${sc.toFixed(0)}x (CPU ${scc.toFixed(0)}x)` : '-';
    const pt = result.rows.find((c) => c.model === r.model && c.backend === 'pytorch' && c.stepMs != null);
    const pw = r.backend === 'pytorch' ? undefined : ratio(r.stepMs, pt?.stepMs);
    const pc = r.backend === 'pytorch' ? undefined : ratio(r.cpuMs, pt?.cpuMs);
    // Peaks compare only as the same measure: peak RSS growth of a fresh process on both sides.
    const rss = (row: SpeedRow | undefined) => row?.peakKind != null && /RSS/.test(row.peakKind);
    const pm = r.backend !== 'pytorch' && rss(r) && rss(pt) ? ratio(r.peakBytes, pt?.peakBytes) : undefined;
    const vsTorch = pw != null && pc != null ? `${pw.toFixed(2)}x / ${pc.toFixed(2)}x / ${pm != null ? `${pm.toFixed(2)}x` : '-'}` : '-';
    const growth = r.growthSteps == null ? '-' : `${r.tensorGrowth} / ${r.wasmHeapGrowth ?? '-'} B over ${r.growthSteps} steps`;
    const heapPeak = r.wasmHeapPeakGrowth != null && rss(r) ? `, heap +${(r.wasmHeapPeakGrowth / 2 ** 20).toFixed(0)}` : '';
    const peak = `${(Number(r.peakBytes) / 2 ** 20).toFixed(0)}${rss(r) ? ` (RSS growth${heapPeak})` : ''}`;
    lines.push(
      `| ${r.model} | ${r.backend} (${r.device}${r.adapter ? `, ${r.adapter}` : ''}) | ${r.trainingKernels} | ${r.threads ?? ''} | ${r.batchSize} | ${r.steps} | ${r.stepMs?.toFixed(0)} | ${r.cpuMs?.toFixed(0)} | ${peak} | ${vsTorch} | ${speedup} | ${growth} | ${(r.topKernels ?? []).join(', ')} |`,
    );
  }
  return lines.join('\n');
}
