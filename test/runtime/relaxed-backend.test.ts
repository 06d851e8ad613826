// backend 'relaxed' / 'auto' with the relaxed build: refused with NOT_SUPPORTED (naming the probe
// verdict) where the relaxed dot is not exact (Node 20: no relaxed SIMD without a flag); under
// Deno (exact u8xs8 on x64 with VNNI) a tiny CNN runs on the relaxed kernels, bit-identical to
// backend 'simd' in the same process (test/runtime/relaxed-session.deno.ts).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { probeRelaxedDot } from '../../src/kernels/relaxed-probe.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { REPO_ROOT, warnSkip } from '../helpers.js';
import { denoBinary } from '../env/fixture.js';

const run = promisify(execFile);
const DENO = denoBinary();
warnSkip(DENO !== undefined, 'Deno is absent: the relaxed backend under Deno is skipped');
const cpuFlags = (() => { try { return readFileSync('/proc/cpuinfo', 'utf8'); } catch { return ''; } })();
const VNNI = process.arch === 'x64' && /\b(avx_vnni|avx512_vnni)\b/.test(cpuFlags);

describe('relaxed backend in this engine', () => {
  let model: Uint8Array;
  beforeAll(async () => {
    const calib = tinyInputs(3, 6, 16);
    model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 9, size: 16 })), { calibration: calib, calibrationCount: calib.length })).edgeq;
  });

  it('backend relaxed is NOT_SUPPORTED naming the verdict where the probe fails; auto falls back to simd', async () => {
    const verdict = probeRelaxedDot();
    if (verdict !== 'none') return void console.warn(`[relaxed] this engine's relaxed dot is exact (${verdict}); the refusal is not testable here`);
    const err = await Session.create(model, { backend: 'relaxed', threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('NOT_SUPPORTED');
    expect((err as Error).message).toContain("probe verdict 'none'");
    const auto = await Session.create(model, { threads: 1 });
    expect(auto.backend).toBe('simd');
    expect(auto.relaxedDot).toBe('none');
    auto.release();
  });

  it('rejects an unknown backend, listing relaxed', async () => {
    const err = await Session.create(model, { backend: 'vnni' as 'simd' }).catch((e: unknown) => e);
    expect((err as EdgeqError).code).toBe('BAD_OPTION');
    expect((err as Error).message).toContain("'relaxed'");
  });
});

describe.skipIf(DENO === undefined)('relaxed backend under Deno', () => {
  it('a tiny CNN: relaxed kernels run, outputs bit-identical to backend simd; auto picks relaxed where exact; the self-check rejects the wrong lowering', async () => {
    const args = ['run', '-A', '--sloppy-imports', `--import-map=${join(REPO_ROOT, 'test', 'deno-import-map.json')}`, join(REPO_ROOT, 'test/runtime/relaxed-session.deno.ts')];
    const { stdout } = await run(DENO!, args, { cwd: REPO_ROOT, timeout: 120_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    console.log(`[relaxed] Deno session: ${JSON.stringify(r)}`);
    if (!VNNI && r.error) return void console.warn(`[relaxed] no exact relaxed dot under Deno here: ${String(r.error)}`);
    expect(r.error).toBeUndefined();
    const verdict = r.relaxedDot as string;
    if (VNNI) expect(verdict).toBe('u8xs8');
    expect(r).toMatchObject({ relaxed: 'relaxed', simd: 'simd', auto: 'relaxed', same: true });
    expect(r.relaxedCalls as number).toBeGreaterThan(0);
    // The self-check passes the probed lowering and fails the other one (a wrong verdict is caught).
    expect(r.selfCheck).toEqual({ u8xs8: verdict === 'u8xs8', s8xs8: verdict === 's8xs8' });
  }, 120_000);
});
