#!/usr/bin/env node
// Regenerates the host's typed kernel interface (scripts/gen-kernel-api.js), then builds the
// AssemblyScript kernel module five times from the same sources (SIMD, SIMD over a shared memory
// for threads, scalar, relaxed SIMD and its shared-memory twin) and the benchmark probe module (assembly/bench/, SIMD and scalar; never
// shipped), then runs binaryen's wasm-opt -O3 over each. Outputs go to build/ (never committed).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTPUT, renderKernelApi } from './gen-kernel-api.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(join(root, OUTPUT), renderKernelApi(root));
console.log(`wrote ${OUTPUT}`);

const config = 'asconfig.json', bench = 'assembly/bench/asconfig.json';
const targets = [
  { target: 'release-simd', out: 'build/edgeq-simd.wasm', optFlags: ['--enable-simd'] },
  // The same SIMD kernels over an imported *shared* memory (maximum 4 GiB): the build every worker
  // of a multi-threaded Session instantiates on the one shared WebAssembly.Memory.
  { target: 'release-simd-mt', out: 'build/edgeq-simd-mt.wasm', optFlags: ['--enable-simd', '--enable-threads'] },
  { target: 'release-scalar', out: 'build/edgeq-scalar.wasm', optFlags: [] },
  // SIMD + relaxed SIMD (i32x4.relaxed_dot_i8x16_i7x16_add_s) and its shared-memory twin: loaded
  // only where src/kernels/relaxed-probe.ts classifies the engine's relaxed dot as exact.
  { target: 'release-relaxed', out: 'build/edgeq-relaxed.wasm', optFlags: ['--enable-simd', '--enable-relaxed-simd'] },
  { target: 'release-relaxed-mt', out: 'build/edgeq-relaxed-mt.wasm', optFlags: ['--enable-simd', '--enable-relaxed-simd', '--enable-threads'] },
  // Benchmark probes (peak_dot), for bench/kernels.ts only.
  { config: bench, target: 'release-simd', out: 'build/edgeq-bench-simd.wasm', optFlags: ['--enable-simd'] },
  { config: bench, target: 'release-scalar', out: 'build/edgeq-bench-scalar.wasm', optFlags: [] },
];
if (process.argv.includes('--debug')) targets.push({ target: 'debug', out: 'build/edgeq-debug.wasm', optFlags: null });

for (const { config: cfg = config, target, out, optFlags } of targets) {
  const t0 = Date.now();
  execFileSync(bin('asc'), ['--config', cfg, '--target', target], { cwd: root, stdio: 'inherit' });
  if (optFlags) {
    execFileSync(bin('wasm-opt'), ['-O3', '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals',
      '--enable-nontrapping-float-to-int', ...optFlags, out, '-o', out], { cwd: root, stdio: 'inherit' });
  }
  console.log(`built ${out} (${statSync(join(root, out)).size} bytes, ${Date.now() - t0} ms)`);
}
