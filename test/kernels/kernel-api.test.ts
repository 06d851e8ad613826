// The typed kernel interface: generated from assembly/index.ts (one declaration), enforced at
// compile time, and the shipped builds free of benchmark probes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_EXPORT_NAMES, KERNEL_NAMES, kernelCall } from '../../src/kernels/index.js';
import { REPO_ROOT } from '../helpers.js';
// @ts-expect-error a plain JS module without declarations
import { OUTPUT, parseExports, renderKernelApi } from '../../scripts/gen-kernel-api.js';

const SHIPPED = ['edgeq-simd.wasm', 'edgeq-simd-mt.wasm', 'edgeq-scalar.wasm', 'edgeq-relaxed.wasm', 'edgeq-relaxed-mt.wasm'];
const built = SHIPPED.every((f) => existsSync(join(REPO_ROOT, 'build', f)));

describe('kernel interface', () => {
  it('the committed src/kernels/kernel-api.generated.ts is what scripts/gen-kernel-api.js writes', () => {
    const committed = readFileSync(join(REPO_ROOT, OUTPUT), 'utf8');
    expect(committed === renderKernelApi(REPO_ROOT), `${OUTPUT} is out of date: run node scripts/gen-kernel-api.js`).toBe(true);
  });

  it('kernelCall lays named arguments out in declaration order', () => {
    const fns = parseExports(readFileSync(join(REPO_ROOT, 'assembly/index.ts'), 'utf8')) as { name: string; params: { name: string }[] }[];
    for (const name of KERNEL_NAMES) {
      const f = fns.find((x) => x.name === name)!;
      const named = Object.fromEntries(f.params.map((p, i) => [p.name, 1000 + i]));
      const call = kernelCall(name, named as never);
      expect(call.fn).toBe(name);
      expect(call.args).toEqual(f.params.map((_, i) => 1000 + i));
    }
  });

  it('a wrong argument count, name or type fails to compile (test/kernels/types/kernel-call.probe.ts)', () => {
    const dir = join(REPO_ROOT, 'test/kernels/types');
    const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    // As committed: every @ts-expect-error line is an error, the rest compiles.
    execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    // Without the markers: tsc reports an error on each marked line.
    const src = readFileSync(join(dir, 'kernel-call.probe.ts'), 'utf8').split('\n');
    const marked = src.flatMap((l, i) => (l.trim().startsWith('// @ts-expect-error') ? [i + 2] : []));
    expect(marked.length).toBeGreaterThanOrEqual(8);
    const stripped = join(dir, 'stripped.probe.ts');
    writeFileSync(stripped, src.map((l) => (l.trim().startsWith('// @ts-expect-error') ? '' : l)).join('\n'));
    let out = '';
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
        '--skipLibCheck', '--types', 'node', stripped], { encoding: 'utf8' });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout);
    } finally {
      rmSync(stripped, { force: true });
    }
    const lines = new Set([...out.matchAll(/stripped\.probe\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])));
    expect([...lines].sort((a, b) => a - b)).toEqual(marked);
  }, 120_000);

  it.skipIf(!built)('the shipped builds export the kernels and no benchmark probe', async () => {
    for (const f of SHIPPED) {
      // The relaxed builds compile only where the engine has relaxed SIMD (Node 20: behind a flag).
      if (!WebAssembly.validate(readFileSync(join(REPO_ROOT, 'build', f)))) { console.warn(`[kernels] ${f} does not compile in ${process.version}; exports not checked`); continue; }
      const names = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(join(REPO_ROOT, 'build', f)))).map((e) => e.name);
      expect(names, f).not.toContain('peak_dot');
      expect(names.filter((n) => n !== 'memory').sort(), f).toEqual([...KERNEL_EXPORT_NAMES].sort());
    }
  });

  it('package.json ships the kernel builds only', () => {
    const files: string[] = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).files;
    expect(files.filter((f) => f.includes('wasm'))).toEqual(SHIPPED.map((f) => `build/${f}`));
    expect(files.some((f) => f.includes('bench') || f.includes('assembly'))).toBe(false);
  });
});
