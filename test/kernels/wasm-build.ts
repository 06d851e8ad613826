// Builds build/edgeq-{simd,scalar}.wasm with scripts/build-wasm.js when they are missing or older
// than the assembly/ sources. A lock directory keeps parallel test workers from building twice.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers.js';

export const SIMD_WASM = join(REPO_ROOT, 'build', 'edgeq-simd.wasm');
export const SCALAR_WASM = join(REPO_ROOT, 'build', 'edgeq-scalar.wasm');
export const SIMD_MT_WASM = join(REPO_ROOT, 'build', 'edgeq-simd-mt.wasm');
export const RELAXED_WASM = join(REPO_ROOT, 'build', 'edgeq-relaxed.wasm');
export const RELAXED_MT_WASM = join(REPO_ROOT, 'build', 'edgeq-relaxed-mt.wasm');

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale(): boolean {
  const outs = [SIMD_WASM, SCALAR_WASM, SIMD_MT_WASM, RELAXED_WASM, RELAXED_MT_WASM];
  if (!outs.every((f) => existsSync(f))) return true;
  const src = Math.max(newestSource(join(REPO_ROOT, 'assembly')), statSync(join(REPO_ROOT, 'asconfig.json')).mtimeMs);
  return Math.min(...outs.map((f) => statSync(f).mtimeMs)) < src;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function ensureWasmBuilt(): void {
  if (!stale()) return;
  const lock = join(REPO_ROOT, 'build', '.build-lock');
  mkdirSync(join(REPO_ROOT, 'build'), { recursive: true });
  const deadline = Date.now() + 240_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Someone else builds; a lock older than 4 minutes is abandoned.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 240_000) rmSync(lock, { recursive: true, force: true });
      } catch { /* gone already */ }
      if (Date.now() > deadline) throw new Error('timed out waiting for the wasm build lock');
      sleep(200);
      if (!stale()) return;
    }
  }
  try {
    if (stale()) execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-wasm.js')], { cwd: REPO_ROOT, stdio: 'inherit' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function wasmBytes(simd: boolean): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(simd ? SIMD_WASM : SCALAR_WASM));
}
