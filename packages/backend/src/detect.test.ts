import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '@trainkit/test-utils';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { explainNoDawnAdapter, softwareReason, webglAdapterInfo, webgpuAdapterInfo } from './internal/adapter';
import { useBackend } from './use-backend';

const swiftshaderInfo = { vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true };
const nvidiaInfo = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', isFallbackAdapter: false };

function fakeGl(renderer: string, unmasked: boolean) {
  const UNMASKED = 0x9246;
  const RENDERER = 0x1f01;
  return {
    RENDERER,
    getExtension: (n: string) => (n === 'WEBGL_debug_renderer_info' && unmasked ? { UNMASKED_RENDERER_WEBGL: UNMASKED } : null),
    getParameter: (p: number) => (p === UNMASKED ? renderer : p === RENDERER ? 'WebKit WebGL' : null),
  };
}

describe('software adapter detection', () => {
  it('flags SwiftShader, llvmpipe, lavapipe and WebGPU fallback adapters, not hardware', () => {
    expect(softwareReason({ api: 'webgpu', ...swiftshaderInfo })).toBe('isFallbackAdapter');
    expect(softwareReason({ api: 'webgpu', vendor: 'google', architecture: 'swiftshader' })).toBe('swiftshader');
    expect(softwareReason({ api: 'webgpu', vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe('llvmpipe');
    expect(softwareReason({ api: 'webgpu', description: 'Mesa lavapipe' })).toBe('lavapipe');
    expect(softwareReason({ api: 'webgl', renderer: 'Microsoft Basic Render Driver' })).toBe('Microsoft Basic Render');
    expect(softwareReason({ api: 'webgpu', ...nvidiaInfo })).toBeUndefined();
    expect(softwareReason({ api: 'webgl', renderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 (0x00002206) Direct3D11 vs_5_0 ps_5_0, D3D11)' })).toBeUndefined();
    expect(softwareReason({ api: 'webgl', renderer: 'Apple M2 (hardware warping)' })).toBeUndefined();
  });

  it('reads WebGPU adapter info from adapter.info, requestAdapterInfo() or adapter.isFallbackAdapter', async () => {
    expect(await webgpuAdapterInfo({ info: swiftshaderInfo })).toEqual({ api: 'webgpu', ...swiftshaderInfo, software: 'isFallbackAdapter' });
    const old = await webgpuAdapterInfo({ isFallbackAdapter: false, requestAdapterInfo: async () => ({ vendor: 'nvidia', architecture: 'hopper' }) });
    expect(old).toEqual({ api: 'webgpu', vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false });
    expect(await webgpuAdapterInfo({ info: { vendor: 'google' }, isFallbackAdapter: true })).toMatchObject({ isFallbackAdapter: true, software: 'isFallbackAdapter' });
  });

  it('reads the unmasked WebGL renderer, else RENDERER', () => {
    const angle = 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)';
    expect(webglAdapterInfo(fakeGl(angle, true))).toEqual({ api: 'webgl', renderer: angle, software: 'SwiftShader' });
    expect(webglAdapterInfo(fakeGl(angle, false))).toEqual({ api: 'webgl', renderer: 'WebKit WebGL' });
  });

  it("names the missing piece when Node's Dawn finds no adapter", () => {
    const base = { platform: 'linux', icds: ['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'] };
    expect(explainNoDawnAdapter({ ...base, dawnLines: ["Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file"] })).toMatch(
      /^no Vulkan loader \(Dawn: Couldn't load Vulkan: libvulkan\.so\.1.*apt-get install libvulkan1$/,
    );
    expect(explainNoDawnAdapter({ platform: 'linux', icds: [], dawnLines: [] })).toMatch(/^no Vulkan ICD \(driver\): none in \/usr\/share\/vulkan\/icd\.d.*VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
    expect(explainNoDawnAdapter({ platform: 'linux', icds: [], dawnLines: [], icdVariable: 'VK_ICD_FILENAMES' })).toMatch(/^no Vulkan ICD \(driver\): VK_ICD_FILENAMES names no existing file/);
    const dawn = [
      'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
      ' - While initializing adapter (backend=BackendType::Vulkan)',
      '    at InitializeImpl (/x/PhysicalDeviceVk.cpp:257)',
    ];
    expect(explainNoDawnAdapter({ ...base, dawnLines: dawn })).toBe('Dawn rejected the adapter: Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.');
    expect(explainNoDawnAdapter({ ...base, dawnLines: [] })).toBe('Dawn found no WebGPU adapter');
  });
});

describe('useBackend with a faked WebGPU adapter', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  function fakeNavigator(info: Record<string, unknown>): void {
    const gpu = { requestAdapter: async () => ({ info }) };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    // A stand-in 'webgpu' backend (the cpu kernels are not registered for it, so only activation is tested).
    tf.registerBackend('webgpu', () => new MathBackendCPU(), 0);
  }
  afterEach(async () => {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    else delete (globalThis as { navigator?: unknown }).navigator;
  });

  it("'auto' prefers webgpu on a hardware adapter and reports it", async () => {
    fakeNavigator(nvidiaInfo);
    const info = await useBackend('auto');
    expect(info).toMatchObject({ name: 'webgpu', tfjsName: 'webgpu', device: 'gpu', trainingKernels: 'native' });
    expect(info.adapter).toEqual({ api: 'webgpu', vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: false });
    expect(info.skipped.map((l) => l.split(':')[0])).toEqual(['skip node-gpu', 'skip node']);
  });

  it("'auto' skips a fallback (SwiftShader) adapter for wasm with a skip line; asked by name it runs, device 'cpu'", async () => {
    fakeNavigator(swiftshaderInfo);
    const lines: string[] = [];
    const auto = await useBackend('auto', { log: (l) => lines.push(l) });
    expect(auto.name).toBe('wasm');
    expect(auto.skipped).toContain(
      "skip webgpu: software adapter (isFallbackAdapter: google, swiftshader, SwiftShader driver 5.0.0): it runs on the CPU, where wasm is faster; ask for 'webgpu' by name to use it anyway",
    );
    const named = await useBackend('webgpu', { log: (l) => lines.push(l) });
    expect(named).toMatchObject({ name: 'webgpu', device: 'cpu', adapter: { isFallbackAdapter: true, software: 'isFallbackAdapter' }, skipped: [] });
    expect(tf.getBackend()).toBe('webgpu');
    expect(lines.at(-1)).toBe('backend: webgpu (cpu, software adapter: isFallbackAdapter, native training kernels, 1 thread(s))');
  });
});
