// The relaxed kernels' s8xs8 lowering end to end on arm64, under emulation: Deno for arm64 (the
// lockfile's @deno/linux-arm64-glibc, fetched by .ci/run into .cache/deno-arm64/) run by Debian's
// qemu-user-static with the libc6-arm64-cross sysroot. There V8 multiplies the relaxed dot's bytes
// s8 x s8: the probe must say 's8xs8'; a model run with backend 'relaxed' (activations shifted by
// -128, 128 * sum(w) folded into the bias) must give logits byte-identical to Node's i16 kernels
// here; and the relaxed kernel sweep must pass in that lowering. Exactness only: emulated timings
// mean nothing. Skips with a message without qemu, the sysroot, the arm64 Deno or the build.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED, warnSkip } from '../helpers.js';
import { cacheDir } from '../../tools/synth/cache-node.js';
import { BUILD_SKIP, HAS_BUILD, envFixture, nodeLogits, type EnvFixture } from './fixture.js';

const run = promisify(execFile);

/** qemu-user for aarch64: $EDGEQ_QEMU_AARCH64, else Debian's qemu-user-static. */
const QEMU = process.env.EDGEQ_QEMU_AARCH64 ?? '/usr/bin/qemu-aarch64-static';
/** The arm64 sysroot (libc6-arm64-cross, libgcc-s1-arm64-cross). */
const SYSROOT = process.env.EDGEQ_AARCH64_SYSROOT ?? '/usr/aarch64-linux-gnu';
/** Deno for arm64: $EDGEQ_DENO_ARM64, else where .ci/run unpacks the lockfile's package. */
const DENO_ARM64 = process.env.EDGEQ_DENO_ARM64 ?? join(REPO_ROOT, '.cache/deno-arm64/package/deno');

const missing = [
  !HAS_BUILD && BUILD_SKIP,
  !existsSync(QEMU) && `qemu-aarch64 is absent (${QEMU}; apt-get install qemu-user-static or set EDGEQ_QEMU_AARCH64)`,
  !existsSync(join(SYSROOT, 'lib/ld-linux-aarch64.so.1')) && `the arm64 sysroot is absent (${SYSROOT}; apt-get install libc6-arm64-cross libgcc-s1-arm64-cross)`,
  !existsSync(DENO_ARM64) && `the arm64 Deno is absent (${DENO_ARM64}; .ci/run fetches @deno/linux-arm64-glibc there, or set EDGEQ_DENO_ARM64)`,
].filter((m): m is string => typeof m === 'string');
const READY = missing.length === 0;
warnSkip(READY, `arm64 emulation tests skipped: ${missing.join('; ')}`);

const denoEnv = { ...process.env, DENO_DIR: join(cacheDir(), 'deno-arm64'), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };
const denoRun = ['run', '-A', '--sloppy-imports', `--import-map=${join(REPO_ROOT, 'test', 'deno-import-map.json')}`];

/** Runs the arm64 Deno under qemu; returns the last stdout line parsed as JSON, and the wall time. */
async function arm64Deno(args: string[], timeoutMs: number): Promise<{ out: Record<string, unknown>; seconds: number }> {
  const t0 = Date.now();
  try {
    const { stdout } = await run(QEMU, ['-L', SYSROOT, DENO_ARM64, ...args], { cwd: REPO_ROOT, env: denoEnv, timeout: timeoutMs, maxBuffer: 64 << 20 });
    return { out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>, seconds: (Date.now() - t0) / 1000 };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`arm64 deno ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

describe.skipIf(!READY)('relaxed SIMD on arm64 (Deno under qemu-user)', () => {
  it('the probe says s8xs8 (cold and after tier-up)', async () => {
    const script = `import { probeRelaxedDot } from ${JSON.stringify(join(REPO_ROOT, 'src/kernels/relaxed-probe.ts'))}; console.log(JSON.stringify({ arch: Deno.build.arch, verdict: probeRelaxedDot() }));`;
    const { out, seconds } = await arm64Deno(['eval', '--no-config', script], 180_000);
    console.log(`[arm64] probe: ${JSON.stringify(out)} (${seconds.toFixed(1)} s under emulation)`);
    expect(out).toEqual({ arch: 'aarch64', verdict: 's8xs8' });
  }, 180_000);

  it('the relaxed kernel sweep passes in the s8xs8 lowering (full-range and 0..127 activations)', async () => {
    const { out, seconds } = await arm64Deno([...denoRun, join(REPO_ROOT, 'test/kernels/relaxed-sweep.deno.ts')], 600_000);
    console.log(`[arm64] sweep: ${JSON.stringify(out)} (${seconds.toFixed(1)} s under emulation)`);
    expect(out.error).toBeUndefined();
    expect(out.verdict).toBe('s8xs8');
    expect(out.cases as number).toBeGreaterThan(0);
    expect(out.relaxedRuns).toBe(out.cases);
  }, 600_000);

  describe('a model with backend relaxed', () => {
    let fx: EnvFixture;
    beforeAll(async () => { fx = await envFixture(); }, 300_000);

    it('gives logits byte-identical to Node\'s i16 kernels', async () => {
      // darknet-tiny on three labelled ImageNet samples (JPEG: Deno and Node decode with the same
      // jpeg-js), or, without ../shared, the seeded tiny CNN on its synthetic PNG.
      const images = fx.kind === 'darknet-tiny'
        ? readdirSync(join(SHARED, 'data/imagenet-sample')).filter((f) => f.endsWith('.jpg')).sort().slice(0, 3).map((f) => join(SHARED, 'data/imagenet-sample', f))
        : [fx.image];
      expect(images.length).toBeGreaterThan(0);
      const { out, seconds } = await arm64Deno([...denoRun, join(REPO_ROOT, 'test/env/arm64-session.deno.ts'), fx.model, ...images], 600_000);
      const { logits, ...rest } = out;
      console.log(`[arm64] ${fx.kind}, ${images.length} image(s): ${JSON.stringify(rest)} (${seconds.toFixed(1)} s under emulation)`);
      expect(out.error).toBeUndefined();
      expect(out).toMatchObject({ arch: 'aarch64', backend: 'relaxed', relaxedDot: 's8xs8' });
      expect(out.relaxedCalls as number).toBeGreaterThan(0);
      const got = logits as string[];
      expect(got).toHaveLength(images.length);
      for (const [i, image] of images.entries()) {
        const node = await nodeLogits(fx, 'simd', image);
        expect(node.backend).toBe('simd');
        const want = Buffer.from(Float32Array.from(node.logits).buffer);
        const bytes = Buffer.from(got[i]!, 'base64');
        expect(bytes.length).toBe(want.length);
        expect(bytes.equals(want), `${image}: arm64 relaxed logits differ from Node's i16 kernels`).toBe(true);
      }
    }, 900_000);
  });
});
