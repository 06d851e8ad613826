#!/usr/bin/env node
// Builds the AssemblyScript kernel module three times from the same sources (SIMD, SIMD over a
// shared memory for threads, scalar),
// then runs binaryen's wasm-opt -O3 over each. Outputs go to build/ (never committed).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
mkdirSync(join(root, 'build'), { recursive: true });

const targets = [
  { target: 'release-simd', out: 'build/edgeq-simd.wasm', optFlags: ['--enable-simd'] },
  // The same SIMD kernels over an imported *shared* memory (maximum 4 GiB): the build every worker
  // of a multi-threaded Session instantiates on the one shared WebAssembly.Memory.
  { target: 'release-simd-mt', out: 'build/edgeq-simd-mt.wasm', optFlags: ['--enable-simd', '--enable-threads'] },
  { target: 'release-scalar', out: 'build/edgeq-scalar.wasm', optFlags: [] },
];
if (process.argv.includes('--debug')) targets.push({ target: 'debug', out: 'build/edgeq-debug.wasm', optFlags: null });

for (const { target, out, optFlags } of targets) {
  const t0 = Date.now();
  execFileSync(bin('asc'), ['--config', 'asconfig.json', '--target', target], { cwd: root, stdio: 'inherit' });
  if (optFlags) {
    execFileSync(bin('wasm-opt'), ['-O3', '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals',
      '--enable-nontrapping-float-to-int', ...optFlags, out, '-o', out], { cwd: root, stdio: 'inherit' });
  }
  console.log(`built ${out} (${statSync(join(root, out)).size} bytes, ${Date.now() - t0} ms)`);
}
