import { describe, expect, it } from 'vitest';
import { experiments } from './index';
import { formatAdapter, webgpuAdapter } from '../adapter';
import { planJobs } from '../runner';

describe('gpu profile', () => {
  it('every experiment has one: 3 seeds, the standard settings with the paper model family', () => {
    for (const e of experiments) {
      const g = e.profiles.gpu as Record<string, unknown> | undefined;
      expect(g, e.id).toBeDefined();
      expect(g!['seeds'], e.id).toBe(3);
      for (const [k, v] of Object.entries(e.profiles.standard ?? {})) if (!(k in g!)) expect.fail(`${e.id}: gpu lacks standard's ${k} (${String(v)})`);
      if ('resnetDepth' in g!) expect([g!['resnetDepth'], g!['resnetWidth']], e.id).toEqual([20, 16]); // ResNet-20
      expect(planJobs([e], { profile: 'gpu' }).jobs.length, e.id).toBe(3 * e.arms(g as never, 'gpu').length);
    }
    expect(experiments.find((e) => e.id === 'mimicnorm')!.profiles.gpu!['vggWidth']).toBe(1); // full-width VGG-11
  });
});

describe('adapter names', () => {
  it('formats vendor, architecture, description and the fallback flag', () => {
    expect(formatAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true })).toBe(
      'google swiftshader (SwiftShader driver 5.0.0), fallback adapter',
    );
    expect(formatAdapter({ vendor: 'nvidia', architecture: 'hopper', description: '' })).toBe('nvidia hopper');
    expect(formatAdapter({})).toBeUndefined();
  });

  it('takes useBackend’s adapter report when there is one, and names none off webgpu', async () => {
    expect(await webgpuAdapter('webgpu', { adapter: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' } })).toBe('nvidia hopper (NVIDIA H200)');
    expect(await webgpuAdapter('webgpu', { adapter: 'some adapter' })).toBe('some adapter');
    expect(await webgpuAdapter('wasm', { adapter: 'ignored' })).toBeUndefined();
  });
});
