import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { projects: ['packages/*', 'tooling/*', '!tooling/webgpu-tests'] }, // webgpu-tests need a WebGPU adapter (.ci/run)
});
