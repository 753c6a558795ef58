import { describe, expect, it } from 'vitest';
import { findTorchPython, formatSpeedTable, kernelFlops, runSpeed } from './speed';

describe('speed table helpers', () => {
  it('counts 2 FLOPs per multiply-add of convolutions, their gradients and matrix products', () => {
    // forward: out [2,4,4,8] x filter taps 3x3x5
    expect(kernelFlops('FusedConv2D', [[2, 4, 4, 5], [3, 3, 5, 8]], [[2, 4, 4, 8]])).toBe(2 * 2 * 4 * 4 * 8 * 3 * 3 * 5);
    // both gradients of that convolution cost the same
    expect(kernelFlops('Conv2DBackpropInput', [[2, 4, 4, 8], [3, 3, 5, 8]], [[2, 4, 4, 5]])).toBe(2 * 2 * 4 * 4 * 8 * 3 * 3 * 5);
    expect(kernelFlops('Conv2DBackpropFilter', [[2, 4, 4, 5], [2, 4, 4, 8]], [[3, 3, 5, 8]])).toBe(2 * 2 * 4 * 4 * 8 * 3 * 3 * 5);
    // depthwise, multiplier 2: each output element is 3x3 multiply-adds
    expect(kernelFlops('DepthwiseConv2dNative', [[2, 4, 4, 3], [3, 3, 3, 2]], [[2, 4, 4, 6]])).toBe(2 * 2 * 4 * 4 * 6 * 9);
    expect(kernelFlops('DepthwiseConv2dNativeBackpropFilter', [[2, 4, 4, 3], [2, 4, 4, 6]], [[3, 3, 3, 2]])).toBe(2 * 2 * 4 * 4 * 6 * 9);
    // [6x5]·[5x7], also with a transposed a ([5x6])
    expect(kernelFlops('BatchMatMul', [[1, 6, 5], [1, 5, 7]], [[1, 6, 7]])).toBe(2 * 6 * 7 * 5);
    expect(kernelFlops('BatchMatMul', [[1, 5, 6], [1, 5, 7]], [[1, 6, 7]])).toBe(2 * 6 * 7 * 5);
    expect(kernelFlops('Multiply', [[4], [4]], [[4]])).toBeUndefined();
  });

  it('skips the PyTorch row with the reason when the python cannot import torch', async () => {
    const r = await findTorchPython('/nonexistent/python3');
    expect(r.python).toBeUndefined();
    expect(r.reason).toMatch(/no python3 with torch \(\/nonexistent\/python3: /);
  });

  it('prints the ratio to PyTorch next to each row and the skip reason', () => {
    const table = formatSpeedTable({
      machine: { cpus: 'x', cores: 2, node: 'v20', platform: 'linux-x64' },
      date: '2026-01-01',
      rows: [
        { model: 'resnet20', backend: 'wasm', device: 'cpu', trainingKernels: 'trainkit', threads: 2, batchSize: 128, steps: 3, stepMs: 900, cpuMs: 600, peakBytes: 2 ** 20 },
        { model: 'resnet20', backend: 'pytorch', device: 'cpu', trainingKernels: 'torch 1.13', threads: 2, batchSize: 128, steps: 3, stepMs: 600, cpuMs: 400, peakBytes: 2 ** 20 },
        { model: 'vgg11', backend: 'pytorch', batchSize: 128, steps: 0, skipped: 'no python3 with torch' },
      ],
    });
    expect(table).toMatch(/\| resnet20 \| wasm \(cpu\) \| trainkit \| 2 \| 128 \| 3 \| 900 \| 600 \| 1 \| 1\.50x \/ 1\.50x \/ - \|/);
    expect(table).toMatch(/\| vgg11 \| pytorch \|.*skipped: no python3 with torch \|/);
  });

  it('compares peaks with PyTorch only as the same measure (peak RSS growth of a fresh process)', () => {
    const row = { device: 'cpu' as const, trainingKernels: 'k', threads: 2, batchSize: 128, steps: 3, stepMs: 900, cpuMs: 600 };
    const table = formatSpeedTable({
      machine: { cpus: 'x', cores: 2, node: 'v20', platform: 'linux-x64' },
      date: '2026-01-01',
      rows: [
        { model: 'resnet20', backend: 'wasm', ...row, peakBytes: 600 * 2 ** 20, peakKind: 'peak RSS growth (fresh process)', wasmHeapPeakGrowth: 640 * 2 ** 20 },
        { model: 'resnet20', backend: 'pytorch', ...row, stepMs: 450, peakBytes: 300 * 2 ** 20, peakKind: 'peak RSS growth' },
        { model: 'vgg11', backend: 'wasm', ...row, peakBytes: 600 * 2 ** 20, peakKind: 'tf.profile peakBytes' },
        { model: 'vgg11', backend: 'pytorch', ...row, peakBytes: 300 * 2 ** 20, peakKind: 'peak RSS growth' },
      ],
    });
    expect(table).toMatch(/\| resnet20 \| wasm \(cpu\) \|.*\| 600 \(RSS growth, heap \+640\) \| 2\.00x \/ 1\.00x \/ 2\.00x \|/);
    expect(table).toMatch(/\| vgg11 \| wasm \(cpu\) \|.*\| 600 \| 1\.00x \/ 1\.00x \/ - \|/);
  });

  it('runs an isolated wasm row in a fresh Node process and reports its peak RSS and heap growth', { timeout: 120_000 }, async () => {
    const r = await runSpeed({ backends: ['wasm'], models: ['smallCnn'], batchSize: 8, steps: 1, warmup: 1, threads: 1, isolate: true });
    const row = r.rows[0]!;
    expect(row.skipped).toBeUndefined();
    expect(row).toMatchObject({ model: 'smallCnn', backend: 'wasm', trainingKernels: 'trainkit', steps: 1, peakKind: 'peak RSS growth (fresh process)' });
    expect(row.stepMs).toBeGreaterThan(0);
    expect(row.peakBytes).toBe(row.rssGrowthBytes);
    expect(row.rssGrowthBytes).toBeGreaterThan(0);
    expect(row.wasmHeapPeakGrowth).toBeGreaterThanOrEqual(0);
    expect(row.profilePeakBytes).toBeGreaterThan(0);
    expect(r.rows).toHaveLength(1);
  });
});
