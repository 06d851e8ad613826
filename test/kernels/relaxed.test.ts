// The relaxed-SIMD path: the probe's verdict in this Node, in Node with the V8 flag and in Deno;
// the relaxed kernels (2x4c16 layout, both lowerings) against the TS reference through their
// scalar twins here, through the relaxed build here where the probe passes (not Node 20 with
// --experimental-wasm-relaxed-simd: its Liftoff code gives wrong sums even for activations in
// 0..127, so nothing runs relaxed there), and under Deno with full-range and 0..127 activations.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { denoBinary } from '../env/fixture.js';
import { probeRelaxedDot, RELAXED_DOT_PROBE_BYTES } from '../../src/kernels/relaxed-probe.js';
import { loadHarness, loadRelaxed, type Harness } from './harness.js';
import { runConvCase } from './conv-case.js';
import { relaxedCases } from './relaxed-cases.js';
import { relaxedEligible } from '../../src/kernels/relaxed.js';
import { planConv2d } from '../../src/kernels/conv.js';
import { packConvWeights } from '../../src/kernels/packing.js';

const run = promisify(execFile);
const DENO = denoBinary();
warnSkip(DENO !== undefined, 'Deno is absent: the relaxed probe and full-range sweep under Deno are skipped');
const cpuFlags = (() => { try { return readFileSync('/proc/cpuinfo', 'utf8'); } catch { return ''; } })();
/** x64 with AVX-VNNI or AVX512-VNNI: V8 lowers the relaxed dot to an exact u8 x s8 vpdpbusd. */
const VNNI = process.arch === 'x64' && /\b(avx_vnni|avx512_vnni)\b/.test(cpuFlags);
const NODE20 = /^v20\./.test(process.version);
const denoArgs = ['run', '-A', '--no-config', '--sloppy-imports', `--import-map=${join(REPO_ROOT, 'test', 'deno-import-map.json')}`];
const denoEnv = { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };

describe('relaxed dot probe', () => {
  it('is none in an engine without relaxed SIMD (Node 20 without the flag)', () => {
    if (WebAssembly.validate(RELAXED_DOT_PROBE_BYTES)) {
      console.warn(`[relaxed] this engine (${process.version}) validates relaxed SIMD: verdict ${probeRelaxedDot(true)}`);
      return;
    }
    expect(probeRelaxedDot(true)).toBe('none');
  });

  it.skipIf(DENO === undefined)('classifies Deno on this CPU (u8xs8 on x64 with VNNI)', async () => {
    const script = `import { probeRelaxedDot } from ${JSON.stringify(join(REPO_ROOT, 'src/kernels/relaxed-probe.ts'))}; console.log(probeRelaxedDot());`;
    const { stdout } = await run(DENO!, ['eval', '--no-config', script], { env: denoEnv, timeout: 60_000 });
    const verdict = stdout.trim();
    console.log(`[relaxed] Deno on ${process.arch}${VNNI ? ' (VNNI)' : ''}: ${verdict}`);
    if (VNNI) expect(verdict).toBe('u8xs8');
    else expect(['u8xs8', 's8xs8', 'none']).toContain(verdict);
  }, 60_000);
});

describe('relaxed kernels, scalar twins (any engine)', () => {
  let h: Harness;
  beforeAll(async () => { h = await loadHarness(); });
  for (const mode of ['u8xs8', 's8xs8'] as const) {
    it(`${mode}: the 2x4c16 twins (SIMD-build _ref, scalar build) equal the TS reference, full-range activations`, () => {
      for (const c of relaxedCases(mode, false)) {
        expect(runConvCase(h, c).runs).toEqual(['scalar-build _ref', 'simd-build _ref', 'scalar build']);
      }
    });
  }
});

describe('relaxed build in this process', () => {
  let h: Harness;
  beforeAll(async () => {
    // Node 20 validates relaxed SIMD only behind this V8 flag (read at compile time).
    if (!WebAssembly.validate(RELAXED_DOT_PROBE_BYTES)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    h = await loadRelaxed(await loadHarness());
  });

  it('the probe says none in Node 20 with --experimental-wasm-relaxed-simd on x64 (saturating pmaddubsw)', () => {
    if (!h.relaxed) return void console.warn('[relaxed] this engine cannot compile the relaxed build');
    console.log(`[relaxed] ${process.version} ${process.arch} with the flag: ${h.relaxedDot}`);
    if (NODE20 && process.arch === 'x64') expect(h.relaxedDot).toBe('none');
  });

  it('sweep through the relaxed build equals the TS reference where the probe passes', () => {
    if (!h.relaxed || h.relaxedDot === 'none') {
      return void console.warn(`[relaxed] ${process.version}: relaxed dot ${h.relaxed ? 'not exact (probe: none)' : 'unavailable'}; in-process relaxed sweep skipped (Deno covers it)`);
    }
    for (const act7 of [false, true]) for (const c of relaxedCases(h.relaxedDot!, act7)) expect(runConvCase(h, c).runs).toContain('relaxed build');
  });
});

describe.skipIf(DENO === undefined)('relaxed build under Deno, full-range activations', () => {
  it('every case equals the TS reference in the probed lowering', async () => {
    const { stdout } = await run(DENO!, [...denoArgs, join(REPO_ROOT, 'test/kernels/relaxed-sweep.deno.ts')], { cwd: REPO_ROOT, env: denoEnv, timeout: 120_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { verdict: string; cases: number; relaxedRuns: number; error?: string };
    console.log(`[relaxed] Deno sweep: ${JSON.stringify(r)}`);
    expect(r.error).toBeUndefined();
    if (r.verdict === 'none') return void console.warn('[relaxed] Deno\'s relaxed dot is not exact here: full-range sweep skipped');
    expect(r.cases).toBeGreaterThan(500);
    expect(r.relaxedRuns).toBe(r.cases);
  }, 120_000);
});

describe('relaxedEligible and the weights range', () => {
  // The probe vouches for the relaxed dot only with weights (its first operand) in [-127, 127]:
  // arm64 V8 without a dot-product lowering wraps (-128)(-128) + (-128)(-128) in int16.
  const shape = { batch: 1, inH: 3, inW: 3, inChannels: 16, outChannels: 5, kernel: [3, 3] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number] };
  const pack = (w: (i: number) => number, bias: number) => packConvWeights({
    outChannels: 5, inChannels: 16, kernel: [3, 3], group: 1, weights: Int8Array.from({ length: 5 * 9 * 16 }, (_, i) => w(i)),
    bias: new Int32Array(5).fill(bias), multipliers: new Float32Array(5).fill(0.001), inputZeroPoint: 0,
  });
  const plan = planConv2d(shape);

  it('takes a blob with weights in [-127, 127] (bias bytes of 0x80 do not count) and refuses one holding -128', () => {
    expect(plan.KB % 2).toBe(0);
    expect(relaxedEligible(plan, 'uint8')).toBe(true);
    expect(relaxedEligible(plan, 'uint8', pack((i) => (i % 255) - 127, -128))).toBe(true);
    expect(relaxedEligible(plan, 'uint8', pack((i) => (i === 700 ? -128 : (i % 255) - 127), 0))).toBe(false);
    expect(relaxedEligible(plan, 'uint12', pack(() => 1, 0))).toBe(false);
  });
});
