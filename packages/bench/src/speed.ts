/**
 * `pnpm bench speed`: training step time and peak memory per backend, for the reference CNN
 * (conv32-pool-conv64-pool-dense128-dense10 on 28x28x1) and a CIFAR-style ResNet-20 (32x32x3),
 * Adam, batch 128. Self-contained: builds both models with tfjs-layers here.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels, useBackend } from '@trainkit/backend';
import { webgpuAdapter } from './adapter';

export type SpeedModel = 'smallCnn' | 'resnet20';

/** A backend row of the speed table: trainkit's names, plus `wasm-stock` (wasm without trainkit's kernels). */
export type SpeedBackend = 'node-gpu' | 'node' | 'webgpu' | 'wasm' | 'wasm-stock' | 'cpu';

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
  /** Timed steps on the stock cpu backend (one reference-CNN step takes about a minute). @defaultValue 1 */
  cpuSteps?: number;
  /**
   * Extra untimed steps after the timed ones, over which tensor and wasm-heap growth are measured
   * (the issue asks for 200). @defaultValue 0 (growth is then measured over the timed steps)
   */
  memorySteps?: number;
  /** Models the stock cpu backend runs (ResNet-20 takes many minutes per step there). @defaultValue ['smallCnn'] */
  cpuModels?: SpeedModel[];
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
  /** The five kernels that took longest in the profiled step, `name: ms`. */
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
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
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

const INPUT: Record<SpeedModel, [number, number, number]> = { smallCnn: [28, 28, 1], resnet20: [32, 32, 3] };

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
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
  const net = model === 'smallCnn' ? buildSmallCnn() : buildResnet20();
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batchSize, ...INPUT[model]], 0, 1, 'float32', 7);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batchSize], 0, 10, 'int32', 8) as tf.Tensor1D, 10));
  const step = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, net.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
  const run = async () => {
    const l = step();
    await l?.data();
    l?.dispose();
  };
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
    prof ??= await profiled();
    const byKernel = new Map<string, number>();
    for (const k of prof.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
    const topKernels = [...byKernel.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([k, ms]) => `${k}: ${ms.toFixed(0)}`);
    return {
      stepMs: median(wall),
      cpuMs: median(cpu),
      peakBytes: prof.peakBytes,
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

/**
 * Measures one Adam training step per (model, backend): median wall and CPU time over `steps`
 * timed steps after `warmup`, `tf.profile` peakBytes, tensor and wasm-heap growth, top kernels.
 * Unavailable backends and runs that fail (stock wasm lacks Conv2DBackpropFilter) become rows with
 * a one-line `skipped` reason.
 */
export async function runSpeed(opts: SpeedOptions = {}): Promise<SpeedResult> {
  const log = opts.log ?? (() => {});
  const batchSize = opts.batchSize ?? 128;
  const steps = opts.steps ?? 10;
  const warmup = opts.warmup ?? 2;
  const models = opts.models ?? ['smallCnn', 'resnet20'];
  const backends = opts.backends ?? ['node-gpu', 'node', 'webgpu', 'wasm', 'wasm-stock', 'cpu'];
  const cpuSteps = opts.cpuSteps ?? 1;
  const cpuModels = opts.cpuModels ?? ['smallCnn'];
  const memorySteps = opts.memorySteps ?? 0;
  const os = await import('node:os');
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
  const prev = tf.getBackend();
  try {
    for (const backend of backends) {
      let info: Awaited<ReturnType<typeof selectBackend>>;
      try {
        info = await selectBackend(backend);
      } catch (err) {
        const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '').replace(/ Install: .*$/, '') : String(err);
        for (const model of models) result.rows.push({ model, backend, batchSize, steps: 0, skipped: reason });
        log(`speed: skip ${backend}: ${reason}`);
        continue;
      }
      try {
        for (const model of models) {
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
            result.rows.push({ model, backend, ...info, batchSize, steps: n, ...m });
            log(`speed: ${model} on ${backend}: ${m.stepMs?.toFixed(0)} ms/step (cpu ${m.cpuMs?.toFixed(0)} ms), peak ${(Number(m.peakBytes) / 2 ** 20).toFixed(0)} MiB`);
          } catch (err) {
            const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
            result.rows.push({ model, backend, ...info, batchSize, steps: 0, skipped: reason });
            log(`speed: ${model} on ${backend} failed: ${reason}`);
          }
        }
      } finally {
        if (backend === 'wasm-stock') registerWasmTrainingKernels();
      }
    }
  } finally {
    await tf.setBackend(prev).catch(() => false);
  }
  return result;
}

/** The result as a Markdown table with speedups against stock cpu where it ran. */
export function formatSpeedTable(result: SpeedResult): string {
  const lines = [
    `Machine: ${result.machine.cpus} (${result.machine.cores} cores), Node ${result.machine.node}, ${result.machine.platform}` +
      (result.machine.loadAvg ? `, load avg ${result.machine.loadAvg.join('/')}` : ''),
    '',
    '| model | backend | kernels | batch | steps | step ms (median) | CPU ms | peak MiB | vs stock cpu | tensors / wasm heap growth | top kernels (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of result.rows) {
    if (r.skipped != null) {
      lines.push(`| ${r.model} | ${r.backend} | ${r.trainingKernels ?? ''} | ${r.batchSize} | - | - | - | - | - | - | skipped: ${r.skipped.replace(/\|/g, '/')} |`);
      continue;
    }
    const cpu = result.rows.find((c) => c.model === r.model && c.backend === 'cpu' && c.stepMs != null);
    const speedup =
      cpu?.stepMs != null && r.stepMs != null && cpu.cpuMs != null && r.cpuMs != null
        ? `${(cpu.stepMs / r.stepMs).toFixed(0)}x (CPU ${(cpu.cpuMs / r.cpuMs).toFixed(0)}x)`
        : '-';
    const growth = r.growthSteps == null ? '-' : `${r.tensorGrowth} / ${r.wasmHeapGrowth ?? '-'} B over ${r.growthSteps} steps`;
    lines.push(
      `| ${r.model} | ${r.backend} (${r.device}${r.adapter ? `, ${r.adapter}` : ''}) | ${r.trainingKernels} | ${r.batchSize} | ${r.steps} | ${r.stepMs?.toFixed(0)} | ${r.cpuMs?.toFixed(0)} | ${(Number(r.peakBytes) / 2 ** 20).toFixed(0)} | ${speedup} | ${growth} | ${(r.topKernels ?? []).join(', ')} |`,
    );
  }
  return lines.join('\n');
}
