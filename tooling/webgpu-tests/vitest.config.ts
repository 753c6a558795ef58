import { defineProject } from 'vitest/config';

// Not part of `pnpm test`: needs a WebGPU adapter (.ci/run installs SwiftShader). Files run one at a time, since
// SwiftShader already uses every core.
export default defineProject({
  test: {
    name: 'webgpu',
    pool: 'forks',
    fileParallelism: false,
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    typecheck: { enabled: false },
    ...(process.env['TRAINKIT_TEST_REPORT'] ? { reporters: ['default', 'json'], outputFile: { json: '.vitest-report.json' } } : {}),
  },
});
