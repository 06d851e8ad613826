// bench/deno-vs-ort.ts under the real Deno binary, small: a tiny CNN (its .edgeq, the QDQ export of
// the same calibration and the fp32 ONNX), a few runs. Asserts the report's structure and that edgeq's
// logits are bit-identical between backend 'auto' and 'simd'; never a timing.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { cacheDir } from '../../tools/synth/cache-node.js';
import { BUILD_SKIP, HAS_BUILD, denoBinary } from './fixture.js';

const run = promisify(execFile);
const DENO = denoBinary();
warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(DENO !== undefined, 'Deno is absent (the `deno` devDependency, $EDGEQ_DENO or PATH); bench/deno-vs-ort.ts test skipped');

const denoEnv = { ...process.env, DENO_DIR: join(cacheDir(), 'deno'), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };

interface Report {
  cpu: string; deno: string; v8: string; onnxruntimeWeb: string;
  relaxedProbe: 'u8xs8' | 's8xs8' | 'none';
  backends: { auto: string; simd: string };
  inputShape: number[]; threads: number; runs: number; inputs: number;
  logitsIdenticalAutoSimd: boolean;
  top1AgreementOrtInt8: number; maxAbsDiffOrtInt8: number; top1AgreementOrtFp32?: number;
  figures: { engine: string; median: number; min: number; max: number }[];
  ratios: Record<string, number>;
}

describe.skipIf(!HAS_BUILD || DENO === undefined)('bench/deno-vs-ort.ts in Deno', () => {
  const dir = join(cacheDir(), 'env', `deno-vs-ort-${process.pid}`);
  beforeAll(async () => {
    const { writeOnnx } = await import('../../tools/onnx/writer.js');
    const { quantizeModel } = await import('../../tools/quantize/index.js');
    const { preprocess } = await import('../../src/image/preprocess.js');
    const { UNIT } = await import('../../src/image/spec.js');
    const { syntheticImage } = await import('../../tools/synth/images.js');
    const { tinyCnn } = await import('../quantize/tiny-cnn.js');
    const spec = { ...UNIT, resize: 16, crop: 16 };
    const calibration = Array.from({ length: 8 }, (_, i) => preprocess(syntheticImage(100 + i, 48, 40), spec));
    const onnx = writeOnnx(tinyCnn({ seed: 5, size: 16, classes: 10 }));
    // The bench's pairing: uint8 input, residual adds not fused (tools/bench/model-bench.ts).
    const q = await quantizeModel(onnx, { calibration, calibrationCount: calibration.length, preprocess: spec, inputBits: 8, fuseResidual: false });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'm.onnx'), onnx);
    writeFileSync(join(dir, 'm.edgeq'), q.edgeq);
    writeFileSync(join(dir, 'm.int8.onnx'), q.qdq);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports four engines, the backends, and auto/simd logits bit-identical', async () => {
    const args = ['run', '-A', '--sloppy-imports', '--import-map=test/deno-import-map.json', 'bench/deno-vs-ort.ts',
      '--model', join(dir, 'm.edgeq'), '--qdq', join(dir, 'm.int8.onnx'), '--onnx', join(dir, 'm.onnx'),
      '--runs', '3', '--warmup', '1', '--inputs', '3', '--json'];
    let stdout: string;
    try {
      ({ stdout } = await run(DENO!, args, { cwd: REPO_ROOT, env: denoEnv, timeout: 120_000, maxBuffer: 16 << 20 }));
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`deno ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as Report;
    expect(r.deno).toMatch(/^\d+\.\d+/);
    expect(r.v8).toMatch(/^\d+\./);
    expect(r.onnxruntimeWeb).toMatch(/^\d+\.\d+/);
    expect(r.cpu.length).toBeGreaterThan(0);
    expect(['u8xs8', 's8xs8', 'none']).toContain(r.relaxedProbe);
    // 'auto' runs the relaxed kernels exactly where the probe finds the relaxed dot exact.
    expect(r.backends).toEqual({ auto: r.relaxedProbe === 'none' ? 'simd' : 'relaxed', simd: 'simd' });
    expect(r.inputShape).toEqual([1, 3, 16, 16]);
    expect(r.threads).toBe(1);
    expect(r.logitsIdenticalAutoSimd).toBe(true);
    expect(r.top1AgreementOrtInt8).toBeGreaterThanOrEqual(0);
    expect(r.top1AgreementOrtInt8).toBeLessThanOrEqual(1);
    expect(Number.isFinite(r.maxAbsDiffOrtInt8)).toBe(true);
    expect(r.top1AgreementOrtFp32).toBeDefined();
    expect(r.figures.map((f) => f.engine)).toEqual([
      `edgeq auto (${r.backends.auto})`, 'edgeq simd (simd)', 'onnxruntime-web int8 (QDQ)', 'onnxruntime-web fp32']);
    for (const f of r.figures) {
      expect(f.min).toBeGreaterThan(0);
      expect(f.min).toBeLessThanOrEqual(f.median);
      expect(f.median).toBeLessThanOrEqual(f.max);
    }
    expect(Object.keys(r.ratios).sort()).toEqual(['autoVsOrtFp32', 'autoVsOrtInt8', 'simdVsOrtFp32', 'simdVsOrtInt8']);
    for (const v of Object.values(r.ratios)) expect(v).toBeGreaterThan(0);
    console.log(`[env] deno-vs-ort (tiny CNN, ${r.runs} runs): Deno ${r.deno}, probe ${r.relaxedProbe}, backends ${r.backends.auto}/${r.backends.simd}, `
      + `auto/simd identical, top-1 vs ORT int8 ${r.top1AgreementOrtInt8}`);
  });
});
