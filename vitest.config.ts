import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two cores in CI: more workers only add contention for the onnxruntime-web heavy suites.
    maxWorkers: 2,
  },
});
