// Multi-threaded sessions: worker pool start/stop, identical logits for 1..4 threads, many
// sessions in one process, release while idle, worker failures reported as errors, and a process
// that used a threaded session exiting by itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import type { ThreadPool } from '../../src/runtime/pool.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { REPO_ROOT } from '../helpers.js';

const SIZE = 96;
let fused: Uint8Array;
let inputs: Float32Array[];

beforeAll(async () => {
  const calib = tinyInputs(300, 6, SIZE);
  const q = await quantizeModel(writeOnnx(tinyCnn({ seed: 5, size: SIZE })), { calibration: calib, calibrationCount: calib.length, fuseResidual: true });
  fused = q.edgeq;
  inputs = tinyInputs(301, 3, SIZE);
});

const poolOf = (s: Session): ThreadPool | undefined => (s as unknown as { pool?: ThreadPool }).pool;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('threads', () => {
  it('1..4 threads give identical logits (fused residual model, batch 1 and 3); workers take parts', async () => {
    const batch = new Float32Array(inputs.length * inputs[0].length);
    inputs.forEach((x, i) => batch.set(x, i * x.length));
    let ref: Float32Array[] | undefined;
    for (const threads of [1, 2, 3, 4]) {
      const s = await Session.create(fused, { threads });
      expect(s.threads).toBe(threads);
      const outs = [];
      for (const x of inputs) outs.push(await s.run(x));
      const b = await s.run(batch);
      // batch 3 == three single runs, bit for bit
      outs.forEach((o, i) => expect(Array.from(b.subarray(i * o.length, (i + 1) * o.length))).toEqual(Array.from(o)));
      if (!ref) ref = outs;
      else outs.forEach((o, i) => expect(Array.from(o), `threads ${threads} input ${i}`).toEqual(Array.from(ref![i])));
      const pool = poolOf(s);
      if (threads > 1) {
        const counts = pool!.partCounts();
        expect(counts.length).toBe(threads);
        expect(counts.reduce((a, c) => a + c, 0)).toBeGreaterThan(0);
      } else {
        expect(pool).toBeUndefined();
      }
      s.release();
    }
    expect(fused.length).toBeGreaterThan(0);
  });

  it('many sessions in one process, concurrent runs, release while idle, release twice', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, (_, i) => Session.create(fused, { threads: 2 + (i % 2) })));
    const outs = await Promise.all(sessions.flatMap((s) => [s.run(inputs[0]), s.run(inputs[1])]));
    for (let i = 2; i < outs.length; i += 2) {
      expect(Array.from(outs[i])).toEqual(Array.from(outs[0]));
      expect(Array.from(outs[i + 1])).toEqual(Array.from(outs[1]));
    }
    for (const s of sessions) {
      s.release();
      s.release();
      const e = await rejection(s.run(inputs[0]));
      expect(e).toBeInstanceOf(EdgeqError);
      expect((e as EdgeqError).code).toBe('RELEASED');
    }
  });

  it('a worker failure rejects the run (no hang) and later runs too', async () => {
    const s = await Session.create(fused, { threads: 2 });
    await s.run(inputs[0]);
    await poolOf(s)!.injectWorkerFailure(0);
    // The worker fails on the first part it takes; run until it took one (on a loaded machine the
    // main thread may take every part of many runs, so the loop is bounded by time, not count).
    let e: unknown;
    const t0 = performance.now();
    while (!e && performance.now() - t0 < 20_000) {
      e = await rejection(s.run(inputs[0]));
      if (!e) await new Promise((r) => setTimeout(r, 5));
    }
    expect(e).toBeInstanceOf(EdgeqError);
    expect((e as Error).message).toMatch(/worker/);
    expect(await rejection(s.run(inputs[0]))).toBeInstanceOf(EdgeqError);
    s.release();
  });

  it('a worker that dies is reported as an error, not a hang', async () => {
    const s = await Session.create(fused, { threads: 2 });
    await s.run(inputs[0]);
    poolOf(s)!.killWorker(0);
    const t0 = performance.now();
    let e: unknown;
    // The main thread can finish a run alone; the death is noticed once events are processed.
    while (!e && performance.now() - t0 < 20_000) {
      e = await rejection(s.run(inputs[0]));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(e).toBeInstanceOf(EdgeqError);
    expect(performance.now() - t0).toBeLessThan(20_000);
    s.release();
  });

  it('an abort during a threaded run stops it between ops; the next run is right', async () => {
    const s = await Session.create(fused, { threads: 2 });
    const expected = Array.from(await s.run(inputs[0]));
    let aborted = 0;
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const p = s.run(inputs[1], { signal: ac.signal } as never);
      queueMicrotask(() => ac.abort());
      const e = await rejection(p);
      if (e) {
        expect((e as EdgeqError).code).toBe('ABORTED');
        aborted++;
      }
      expect(Array.from(await s.run(inputs[0]))).toEqual(expected);
    }
    expect(aborted).toBeGreaterThan(0);
    s.release();
  });

  it('bad thread counts are BAD_OPTION', async () => {
    for (const threads of [0, -1, 1.5, 65]) {
      const e = await rejection(Session.create(fused, { threads }));
      expect((e as EdgeqError).code, String(threads)).toBe('BAD_OPTION');
    }
  });

  it('a process that used a threaded session exits by itself', () => {
    const dist = join(REPO_ROOT, 'dist', 'runtime', 'session.js');
    if (!existsSync(dist)) {
      console.warn('skipped: dist/ is not built (npm run build)');
      return;
    }
    const script = `
      import { Session } from ${JSON.stringify(dist)};
      const m = Buffer.from(process.argv[1], 'base64');
      const s = await Session.create(new Uint8Array(m), { threads: 3 });
      const x = new Float32Array(3 * ${SIZE} * ${SIZE}).fill(0.5);
      await s.run(x);
      console.log('ran on', s.threads);
      // no release(): the unref'd workers must not keep the process alive
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, Buffer.from(fused).toString('base64')], { timeout: 60_000, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ran on 3');
    expect(r.status).toBe(0);
  });
});
