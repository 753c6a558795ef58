import { describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { SWIFTSHADER_ICD } from './internal/adapter';
import { useBackend } from './use-backend';

// Its own file (process): Dawn reads VK_ICD_FILENAMES when it starts. SwiftShader's ICD comes with Debian's chromium.
process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;

describe('useBackend webgpu in Node (Dawn on SwiftShader)', () => {
  it("'auto' skips the SwiftShader adapter for wasm; 'webgpu' by name runs on it and reports it with device 'cpu'", async () => {
    const auto = await useBackend('auto');
    expect(auto.name).toBe('wasm');
    expect(auto.skipped.find((l) => l.startsWith('skip webgpu'))).toMatch(/^skip webgpu: software adapter \(isFallbackAdapter: google, swiftshader, .*ask for 'webgpu' by name/);

    const info = await useBackend('webgpu');
    expect(info).toMatchObject({ name: 'webgpu', tfjsName: 'webgpu', device: 'cpu', trainingKernels: 'native' });
    expect(info.adapter).toMatchObject({ api: 'webgpu', vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true, software: 'isFallbackAdapter' });
    expect(info.adapter?.description).toMatch(/SwiftShader/);
    // await data(): dataSync needs an OffscreenCanvas on webgpu, which Node lacks.
    const a = tf.tensor2d([[1, 2]]);
    const b = tf.tensor2d([[3], [4]]);
    const y = tf.matMul(a, b);
    expect(Array.from(await y.data())).toEqual([11]);
    tf.dispose([a, b, y]);
    await tf.setBackend('cpu');
  });
});
