import type { UserWorkspaceConfig } from 'vitest/config';

/** The test settings every trainkit package shares (STYLE.md §4). */
export function trainkitTestConfig(name: string, extra: { testTimeout?: number } = {}): UserWorkspaceConfig {
  return {
    test: {
      name,
      pool: 'forks',
      include: ['src/**/*.test.ts'],
      setupFiles: ['@trainkit/test-utils/setup'],
      testTimeout: extra.testTimeout ?? 60_000,
      hookTimeout: 60_000,
      typecheck: { enabled: false },
      // .ci/run sums these JSON reports into its "N passed, N failed" line.
      ...(process.env['TRAINKIT_TEST_REPORT']
        ? { reporters: ['default', 'json'], outputFile: { json: '.vitest-report.json' } }
        : {}),
    },
  };
}
