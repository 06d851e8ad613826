// The relaxed split of -w16 layers through whole Sessions: the Coral MobileNets (TFLite uint8, exact
// import: most convs hold a few weights outside int8) under Deno, whose relaxed dot is exact on
// x64 with VNNI: backend 'relaxed' runs some -w16 convs split (wideRelaxedBlocks), every 1x1 conv
// of 4 rows or more on qu8_gemm_relaxed_4x8c4 (channel offsets and row sums), every depthwise conv
// on qu8_dwconv_relaxed_c16x4 (their blocks with a weight outside [-127, 127] on its i16 step), and gives the same output bits at 1 and 2 threads as backend 'simd'
// (test/kernels/wide-relaxed-model.deno.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED, warnSkip } from '../helpers.js';
import { denoBinary } from '../env/fixture.js';
import { importTflite } from '../../tools/tflite/index.js';

const run = promisify(execFile);
const DENO = denoBinary();
const CORAL = join(SHARED, 'models', 'tflite-coral');
const MODELS = ['mobilenet_v1_0.25_128_quant.tflite', 'mobilenet_v2_1.0_224_quant.tflite'].map((f) => join(CORAL, f));
const present = (() => { try { return MODELS.every((f) => readFileSync(f).length > 0); } catch { return false; } })();
warnSkip(present, `${CORAL} is absent: the Coral MobileNets' relaxed split test is skipped`);
warnSkip(DENO !== undefined, 'Deno is absent: the relaxed split through Sessions is skipped');

describe.skipIf(!present || DENO === undefined)('-w16 layers split between the relaxed and i16 kernels, whole models under Deno', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeq-wide-relaxed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the Coral MobileNets: split convs, outputs at 1 and 2 threads bit-identical to backend simd', async () => {
    const files = MODELS.map((f, i) => {
      const out = join(dir, `m${i}.edgeq`);
      writeFileSync(out, importTflite(new Uint8Array(readFileSync(f))).edgeq);
      return out;
    });
    const args = ['run', '-A', '--no-config', '--sloppy-imports', `--import-map=${join(REPO_ROOT, 'test', 'deno-import-map.json')}`, join(REPO_ROOT, 'test/kernels/wide-relaxed-model.deno.ts'), ...files];
    const { stdout } = await run(DENO!, args, { cwd: REPO_ROOT, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' }, timeout: 120_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { verdict: string; files: { wide: number; split: number; dwRelaxed: number; c4: number; runs: number; same: boolean; threads2: number }[]; error?: string };
    console.log(`[wide-relaxed] ${JSON.stringify(r)}`);
    expect(r.error).toBeUndefined();
    if (r.verdict === 'none') return void console.warn('[wide-relaxed] Deno\'s relaxed dot is not exact here: skipped');
    expect(r.files).toHaveLength(2);
    for (const f of r.files) {
      expect(f.wide).toBeGreaterThan(10);
      expect(f.split).toBeGreaterThan(0);
      expect(f.dwRelaxed).toBeGreaterThanOrEqual(13); // MobileNetV1: 13 depthwise convs, V2: 17
      expect(f.c4).toBeGreaterThanOrEqual(13); // MobileNetV1: 13 pointwise convs (every one -w16), V2: 34
      expect(f.runs).toBe(3);
      expect(f.same).toBe(true);
      expect(f.threads2).toBe(2);
    }
  }, 180_000);
});
