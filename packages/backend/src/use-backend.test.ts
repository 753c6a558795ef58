import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { TrainkitError } from '@trainkit/core';
import { AUTO_ORDER, gradientsRegistered, useBackend } from './use-backend';
import {
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelNames,
  wasmTrainingKernelsRegistered,
} from './register';

async function rejection(p: Promise<unknown>): Promise<TrainkitError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrainkitError);
  return err as TrainkitError;
}

describe('useBackend', () => {
  it("'auto' skips the unavailable native/gpu backends with one-line reasons and picks wasm with trainkit kernels", async () => {
    const lines: string[] = [];
    const info = await useBackend('auto', { log: (l) => lines.push(l) });
    // This machine has no libtensorflow (tfjs-node's install is blocked), no hardware WebGPU adapter, no WebGL.
    expect(info).toMatchObject({ name: 'wasm', tfjsName: 'wasm', device: 'cpu', trainingKernels: 'trainkit', threads: 1, warnings: [] });
    expect(info.adapter).toBeUndefined();
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped.map((l) => l.split(':')[0])).toEqual(['skip node-gpu', 'skip node', 'skip webgpu', 'skip webgl']);
    // Without VK_ICD_FILENAMES Dawn sees lavapipe (rejected), or no ICD/loader at all on a bare machine.
    expect(info.skipped[2]).toMatch(/^skip webgpu: (Dawn rejected the adapter: .+|no Vulkan ICD .+|no Vulkan loader .+|software adapter .+)$/);
    expect(info.skipped[3]).toBe('skip webgl: WebGL needs a browser (Node has no WebGL context)');
    for (const line of info.skipped) expect(line).not.toContain('\n');
    expect(lines.at(-1)).toMatch(/^backend: wasm \(cpu, trainkit training kernels, 1 thread\(s\)\)$/);
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    expect(gradientsRegistered()).toBe(true);
    await tf.setBackend('cpu');
  });

  it('a named backend that is missing throws BACKEND_UNAVAILABLE with the reason and the install command', async () => {
    for (const name of ['node', 'node-gpu', 'webgpu', 'webgl'] as const) {
      const err = await rejection(useBackend(name));
      expect(err.code).toBe('BACKEND_UNAVAILABLE');
      expect(err.message).toContain(`backend '${name}' is unavailable`);
      expect(err.message).toMatch(/Install: npm i @tensorflow\/tfjs-(node|node-gpu|backend-webgpu|backend-webgl)/);
    }
    expect(tf.getBackend()).toBe('cpu');
  });

  it('selects cpu and wasm by name', async () => {
    expect(await useBackend('cpu')).toMatchObject({ name: 'cpu', device: 'cpu', trainingKernels: 'native', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(await useBackend('wasm')).toMatchObject({ name: 'wasm', trainingKernels: 'trainkit' });
    expect(tf.getBackend()).toBe('wasm');
    await tf.setBackend('cpu');
  });

  it('rejects a bad name or thread count with INVALID_ARGUMENT', async () => {
    expect((await rejection(useBackend('tpu' as never))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(useBackend('wasm', { threads: 0 }))).code).toBe('INVALID_ARGUMENT');
    const bad = await rejection(useBackend('wasm', { wasmModule: {} as never }));
    expect([bad.code, bad.argument]).toEqual(['INVALID_ARGUMENT', 'wasmModule']);
    expect(AUTO_ORDER).toEqual(['node-gpu', 'node', 'webgpu', 'webgl', 'wasm', 'cpu']);
  });

  it('threads once wasm has started: a warning with the reason, and the thread count tfjs really uses', async () => {
    const lines: string[] = [];
    const info = await useBackend('wasm', { threads: 4, log: (l) => lines.push(l) });
    expect(info.threads).toBe(1);
    const why = 'wasmPaths/threads ignored: the wasm backend was already initialised (call useBackend before anything else uses wasm)';
    expect(info.warnings).toEqual([why]);
    expect(lines).toContain(`warning: ${why}`);
    await tf.setBackend('cpu');
  });
});

describe('registerWasmTrainingKernels', () => {
  it('is idempotent and registers the conv gradient and speed kernels for wasm', async () => {
    await useBackend('wasm');
    const first = registerWasmTrainingKernels();
    const kernels = wasmTrainingKernelNames.map((n) => tf.getKernel(n, 'wasm')?.kernelFunc);
    expect(registerWasmTrainingKernels()).toEqual(first);
    expect(wasmTrainingKernelNames.map((n) => tf.getKernel(n, 'wasm')?.kernelFunc)).toEqual(kernels);
    expect([...first].sort()).toEqual([
      'BatchMatMul',
      'Cast',
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'Greater',
      'GreaterEqual',
      'Identity',
      'Less',
      'LessEqual',
      'LogicalAnd',
      'MaxPoolGrad',
      'Mean',
      'Select',
      'Sum',
      'Tile',
      'TrainkitBatchNormTraining',
      'TrainkitBatchNormTrainingGrad',
    ]);
    await tf.setBackend('cpu');
  });

  it('unregisterWasmTrainingKernels restores stock wasm (no Conv2DBackpropFilter) and registering again works', async () => {
    await useBackend('wasm');
    const ours = tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc;
    unregisterWasmTrainingKernels();
    expect(wasmTrainingKernelsRegistered()).toBe(false);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc).not.toBe(ours);
    expect(tf.getKernel('MaxPoolGrad', 'wasm')).toBeDefined();
    // Stock wasm still runs the ops it has (restored kernels are live).
    const sum = tf.tidy(() => tf.sum(tf.ones([2, 3]), 0).arraySync());
    expect(sum).toEqual([2, 2, 2]);
    registerWasmTrainingKernels();
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    await tf.setBackend('cpu');
  });
});
