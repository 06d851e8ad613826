import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources: the lab's and the bench's package imports of the runtime
    // (edgeq, edgeq/format, ...) and of the lab (edgeq-tools/...) resolve to the same source modules
    // the tests import, so there is one EdgeqError class and one copy of every module.
    alias: [
      { find: /^edgeq$/, replacement: at('./src/index.ts') },
      { find: /^edgeq\/decode$/, replacement: at('./src/image/decode-node.ts') },
      { find: /^edgeq\/(format|image|kernels|runtime|ops)$/, replacement: at('./src/$1/index.ts') },
      { find: /^edgeq-tools$/, replacement: at('./tools/index.ts') },
      { find: /^edgeq-tools\/quantize$/, replacement: at('./tools/quantize/index.ts') },
      { find: /^edgeq-tools\/(.+)$/, replacement: at('./tools/$1.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // The pool tests run small models on several threads on purpose: every plan uses the pool
    // (test/runtime/thread-saving.test.ts checks the default, which runs small models on the caller).
    env: { EDGEQ_MIN_THREAD_SAVING_US: '0' },
    // Two cores in CI: more workers only add contention for the onnxruntime-web heavy suites.
    maxWorkers: 2,
  },
});
