// `edgeq bench --runtime deno`: edgeq and onnxruntime-web timed in one Deno child (tools/bench/
// deno-bench.ts, deno-runner.ts) on a 16x16 tiny CNN; the report names the runtime, the CPU and its
// features, edgeq's backend and the probe's verdict; edgeq 'auto' (relaxed where exact) and 'simd'
// give the same outputs there. A missing --deno fails before any work. Skipped without Deno or
// without the build (the Deno child imports the built package).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { benchCommand, type BenchCliOptions } from '../../tools/cli/bench.js';
import type { ModelBenchResult } from '../../tools/bench/model-bench.js';
import { cpuInfo } from '../../tools/bench/cpu-info.js';
import { warnSkip } from '../helpers.js';
import { BUILD_SKIP, HAS_BUILD, denoBinary } from '../env/fixture.js';
import { makeCliFixture, type CliFixture } from './fixtures.js';

const DENO = denoBinary();
warnSkip(DENO !== undefined, 'Deno is absent: edgeq bench --runtime deno is skipped');
// The Deno child imports the built runtime (node_modules/edgeq -> dist/, build/*.wasm).
warnSkip(HAS_BUILD, BUILD_SKIP);
const RUN = DENO !== undefined && HAS_BUILD;
const cpuFlags = (() => { try { return readFileSync('/proc/cpuinfo', 'utf8'); } catch { return ''; } })();
/** x64 with VNNI: Deno's relaxed dot is exact u8 x s8 (test/kernels/relaxed.test.ts). */
const VNNI = process.arch === 'x64' && /\b(avx_vnni|avx512_vnni)\b/.test(cpuFlags);

let fx: CliFixture;
let dir: string;
const saved = process.env.EDGEQ_CACHE;
beforeAll(async () => {
  fx = await makeCliFixture();
  dir = mkdtempSync(join(tmpdir(), 'edgeq-bench-deno-'));
  process.env.EDGEQ_CACHE = join(dir, 'cache');
});
afterAll(() => {
  if (saved === undefined) delete process.env.EDGEQ_CACHE; else process.env.EDGEQ_CACHE = saved;
  rmSync(dir, { recursive: true, force: true });
  rmSync(fx.dir, { recursive: true, force: true });
});

const cli = (o: Partial<BenchCliOptions>): BenchCliOptions => ({ runs: 3, inputs: 3, calibCount: 4, threads: [1], ...o });

describe('edgeq bench --runtime', () => {
  it('rejects an unknown runtime and a --deno that does not exist, before any work', async () => {
    await expect(benchCommand(cli({ model: fx.onnx, runtime: 'bun' as 'deno' }))).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringContaining("'node' or 'deno'") });
    await expect(benchCommand(cli({ model: fx.onnx, runtime: 'deno', deno: join(dir, 'no-deno') }))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no-deno') });
  });

  it.skipIf(!RUN)('deno: both engines timed in Deno; the report names the runtime, CPU features, backend and probe verdict', async () => {
    const json = join(dir, 'deno.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let text: string;
    try {
      await benchCommand(cli({ model: fx.onnx, runtime: 'deno', deno: DENO, json }));
      text = log.mock.calls.map((c) => String(c[0])).join('\n');
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(readFileSync(json, 'utf8')) as ModelBenchResult;
    const line = text.split('\n').find((l) => l.startsWith('runtime: '));
    console.log(`[bench-deno] ${line}`);
    expect(r.runtime?.name).toBe('deno');
    expect(r.runtime?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(line).toBe(`runtime: Deno ${r.runtime!.version} on ${r.runtime!.cpu}; edgeq backend ${r.runtime!.backend} (relaxed-dot probe: ${r.runtime!.relaxedDot})`);
    expect(r.runtime!.cpu).toContain(cpuInfo().model);
    if (VNNI) {
      expect(r.runtime!.cpu).toMatch(/avx_vnni|avx512_vnni/);
      expect(r.runtime).toMatchObject({ backend: 'relaxed', relaxedDot: 'u8xs8' });
    } else {
      expect(['relaxed', 'simd']).toContain(r.runtime!.backend);
    }
    expect(r.engines.map((e) => e.role)).toEqual(['ort-fp32', 'ort-int8', 'edgeq', 'edgeq-simd', 'edgeq-fused']);
    for (const e of r.engines) {
      expect(e.latency.runs).toBe(3);
      expect(e.latency.median).toBeGreaterThan(0);
    }
    const role = (x: string) => r.engines.find((e) => e.role === x)!;
    expect(role('edgeq').engine).toBe(`edgeq int8 (${r.runtime!.backend})`);
    // The relaxed kernels are bit-identical to the i16 ones: the same accuracy figures, to the bit.
    const acc = (x: string) => { const e = role(x); return [e.top1Agreement, e.meanCosine, e.maxAbsError]; };
    expect(acc('edgeq')).toEqual(acc('edgeq-simd'));
    // onnxruntime-web fp32 is the reference of the accuracy columns; int8 runs the same integers.
    expect(role('ort-fp32').maxAbsError).toBe(0);
    expect(role('ort-int8').meanCosine).toBeGreaterThan(0.9);
    expect(r.edgeqVsOrtInt8Top1).toBeGreaterThan(0);
    expect(text).toContain('edgeq int8 (simd: the i16 kernels)');
  }, 300_000);

  it.skipIf(!RUN)('deno, 2 threads: edgeq on 2; onnxruntime-web on 2 where its threads start in Deno, else on 1 with the reason in the report', async () => {
    const json = join(dir, 'deno-t2.json');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await benchCommand(cli({ model: fx.onnx, runtime: 'deno', deno: DENO, json, threads: [2], runs: 2, inputs: 1 }));
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(readFileSync(json, 'utf8')) as ModelBenchResult;
    console.log(`[bench-deno] 2 threads: edgeq ${r.edgeqThreads}; ${r.runtime?.note ?? 'onnxruntime-web on 2 threads'}`);
    expect(r).toMatchObject({ threads: 2, edgeqThreads: 2 });
    if (r.runtime?.note !== undefined) expect(r.runtime.note).toMatch(/^onnxruntime-web ran at 1 thread: its 2-thread build does not start in this Deno \(.+\)$/);
  }, 300_000);
});
