// Multi-threaded sessions: worker pool start/stop, identical logits for 1..4 threads, ops on fewer
// threads than the pool (the planner's choice and any other), more threads than cores, many
// sessions in one process, release while idle, worker failures reported as errors, and a process
// that used a threaded session exiting by itself.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import { LINE_WORDS, homeChunk, type ThreadPool } from '../../src/runtime/pool.js';
import { NS_PER_EXTRA_THREAD, opCost, opNs, opThreads, type ExecutionPlan } from '../../src/runtime/plan.js';
import { dequantizeOutput, quantizeInput } from '../../src/runtime/io.js';
import { planConv2d, splitConv } from '../../src/kernels/conv.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { REPO_ROOT } from '../helpers.js';

const SIZE = 224;
let fused: Uint8Array;
let inputs: Float32Array[];

beforeAll(async () => {
  const calib = tinyInputs(300, 6, SIZE);
  const q = await quantizeModel(writeOnnx(tinyCnn({ seed: 5, size: SIZE })), { calibration: calib, calibrationCount: calib.length, fuseResidual: true });
  fused = q.edgeq;
  inputs = tinyInputs(301, 3, SIZE);
});

const poolOf = (s: Session): ThreadPool | undefined => (s as unknown as { pool?: ThreadPool }).pool;
const planOf = (s: Session): Promise<ExecutionPlan> => (s as unknown as { plan(batch: number): Promise<ExecutionPlan> }).plan(1);

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

  it('each op runs on the threads its modelled cost pays for, at most its parts and the cores; idle threads take no part of it', async () => {
    const s = await Session.create(fused, { threads: 4 });
    const plan = await planOf(s);
    const { active, ops } = plan.threaded!.plan;
    const model = s.model;
    const usable = Math.min(4, poolOf(s)!.cores);
    model.ops.forEach((op, i) => {
      const want = Math.min(opThreads(opCost(op, { model, batch: 1, parts: 1 }), usable), ops[i].length);
      expect(active[i], `op ${i} ${op.name}`).toBe(Math.max(1, want));
      // an op on one thread is one part (no split it cannot use)
      if (active[i] === 1) expect(ops[i].length, `op ${i} ${op.name}`).toBe(1);
    });
    // this model has ops on one thread (the head) and ops split across threads
    expect(Math.min(...active)).toBe(1);
    expect(Math.max(...active)).toBeGreaterThan(1);
    // A plan whose ops all run on the main thread: the workers take no part.
    const pool = poolOf(s)!;
    const solo = await pool.addPlan(plan.kernels.memory, plan.calls.map((c) => [...c]), plan.calls.map(() => 1));
    const before = pool.partCounts();
    const [, c, h, w] = model.input.nchw;
    await pool.run(solo, plan.kernels, () => quantizeInput(inputs[0], plan, c, h, w), () => undefined);
    const after = pool.partCounts();
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
    expect(after[3] - before[3]).toBe(plan.calls.reduce((n, x) => n + x.length, 0));
    pool.dropPlan(solo);
    s.release();
  });

  it('opThreads: at least 1, monotone in the work, capped at the pool', () => {
    expect(opThreads({ macs: 0, bytes: 0 }, 16)).toBe(1);
    expect(opThreads({ macs: 1e12, bytes: 0 }, 1)).toBe(1);
    for (const [macs, bytes] of [[1e3, 1e3], [1e6, 0], [0, 1e5], [1e7, 1e6], [1e8, 0], [1e10, 1e9]]) {
      const t = opThreads({ macs, bytes }, 16);
      expect(t).toBeGreaterThanOrEqual(1);
      expect(t).toBeLessThanOrEqual(16);
      expect(opThreads({ macs, bytes }, 2)).toBe(Math.min(2, t));
      expect(opThreads({ macs: 2 * macs, bytes: 2 * bytes }, 16)).toBeGreaterThanOrEqual(t);
    }
    expect(opThreads({ macs: 1e12, bytes: 0 }, 7)).toBe(7);
  });

  it('opThreads is the thread count of least modelled time, opNs / t + NS_PER_EXTRA_THREAD * (t - 1) (brute force)', () => {
    expect(NS_PER_EXTRA_THREAD).toBeGreaterThan(0);
    const modelled = (ns: number, t: number) => ns / t + NS_PER_EXTRA_THREAD * (t - 1);
    for (let ns = 100; ns < 1e8; ns *= 1.37) {
      for (const T of [1, 2, 3, 4, 8, 16]) {
        const cost = { macs: ns * 32, bytes: 0 };
        expect(opNs(cost)).toBeCloseTo(ns, 6);
        const t = opThreads(cost, T);
        let best = 1;
        for (let u = 2; u <= T; u++) if (modelled(ns, u) < modelled(ns, best)) best = u;
        expect(t, `${ns} ns, ${T} threads`).toBe(best);
      }
    }
    // an op under twice the cost of one more thread stays on one; the depthwise rate counts
    expect(opThreads({ macs: 0, bytes: 16 * 2 * NS_PER_EXTRA_THREAD }, 16)).toBe(1);
    const dw = { macs: 32 * 4 * NS_PER_EXTRA_THREAD, bytes: 0 };
    expect(opThreads({ ...dw, macsPerNs: 8 }, 16)).toBeGreaterThan(opThreads(dw, 16));
  });

  it('homeChunk: contiguous chunks in slot order cover every part once, sizes within one', () => {
    for (const n of [1, 2, 7, 16, 31, 128, 1000]) {
      for (const a of [1, 2, 3, 5, 8, 16]) {
        let next = 0;
        const sizes: number[] = [];
        for (let s = 0; s < a; s++) {
          const [lo, hi] = homeChunk(n, a, s);
          expect(lo).toBe(next);
          expect(hi).toBeGreaterThanOrEqual(lo);
          sizes.push(hi - lo);
          next = hi;
        }
        expect(next).toBe(n);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('any choice of threads per op gives the 1-thread bytes (all, none, alternating, random, batch 3)', async () => {
    const one = await Session.create(fused, { threads: 1 });
    const batch = new Float32Array(inputs.length * inputs[0].length);
    inputs.forEach((x, i) => batch.set(x, i * x.length));
    const want = Array.from(await one.run(batch));
    one.release();
    const s = await Session.create(fused, { threads: 3 });
    await s.run(batch); // makes the batch-3 plan
    const plan = await (s as unknown as { plan(batch: number): Promise<ExecutionPlan> }).plan(3);
    const pool = poolOf(s)!;
    const n = plan.calls.length;
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 3) + 1;
    const patterns: [string, number[]][] = [
      ['all', Array(n).fill(3)], ['main only', Array(n).fill(1)], ['alternating', Array.from({ length: n }, (_, i) => (i % 2 ? 3 : 1))],
      ['two', Array(n).fill(2)], ['random', Array.from({ length: n }, rand)],
    ];
    const [, c, h, w] = s.model.input.nchw;
    for (const [name, active] of patterns) {
      const p = await pool.addPlan(plan.kernels.memory, plan.calls.map((x) => [...x]), active);
      for (let r = 0; r < 3; r++) {
        const out = await pool.run(p, plan.kernels, () => quantizeInput(batch, plan, c, h, w), () => dequantizeOutput(plan));
        expect(Array.from(out), `${name}, run ${r}`).toEqual(want);
      }
      pool.dropPlan(p);
    }
    s.release();
  });

  it('more threads than cores (oversubscribed) gives the 1-thread bytes', async () => {
    const threads = Math.min(64, 3 * availableParallelism() + 1);
    const one = await Session.create(fused, { threads: 1 });
    const s = await Session.create(fused, { threads });
    expect(s.threads).toBe(threads);
    // no op gets more threads than cores (a thread holding a part could wait a time slice for one)
    expect(Math.max(...(await planOf(s)).threaded!.plan.active)).toBeLessThanOrEqual(availableParallelism());
    for (const x of inputs) expect(Array.from(await s.run(x))).toEqual(Array.from(await one.run(x)));
    one.release();
    s.release();
  });

  it("threads: 'auto' is the default thread count", async () => {
    const a = await Session.create(fused, { threads: 'auto' }), d = await Session.create(fused);
    expect(a.threads).toBe(d.threads);
    expect(a.threads).toBeGreaterThanOrEqual(1);
    expect(Array.from(await a.run(inputs[0]))).toEqual(Array.from(await d.run(inputs[0])));
    a.release();
    d.release();
  });

  it('channel splits start on 64-byte output lines where the channels allow', () => {
    // 1x1 convs over few pixels with many channels split by channel blocks (4 channels each)
    for (const [pixels, outC, parts] of [[7, 2048, 128], [7, 512, 128], [4, 256, 16], [3, 64, 5]]) {
      const plan = planConv2d({ batch: 1, inH: pixels, inW: pixels, inChannels: 512, outChannels: outC, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] });
      const ranges = splitConv(plan, 1, parts);
      expect(ranges.length, `${pixels}x${pixels}x${outC} parts ${parts}`).toBeGreaterThanOrEqual(2);
      expect(ranges.every(([m0, m1]) => m0 === 0 && m1 === plan.M)).toBe(true);
      const unit = [16, 8, 4, 2, 1].find((u) => Math.floor(plan.nBlocks / u) >= Math.max(2, Math.ceil(parts / 8)))!;
      expect(ranges.every(([, , b0]) => b0 % unit === 0)).toBe(true);
      // the ranges cover every block once
      expect(ranges.map(([, , b0, b1]) => [b0, b1])).toEqual(ranges.map((_, i) => [i === 0 ? 0 : ranges[i - 1][3], ranges[i][3]]));
      expect(ranges.at(-1)![3]).toBe(plan.nBlocks);
      if (outC >= 1024) expect(unit).toBe(16);
    }
  });

  it('a worker blocked between runs (Atomics.wait) still reads the messages posted to it, and wakes for the next run', async () => {
    const s = await Session.create(fused, { threads: 2 });
    const first = await s.run(inputs[0]);
    const pool = poolOf(s)!;
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 60)); // past its spin: the worker blocks on the generation word
      const t0 = performance.now();
      const ids = await pool.workerPlanIds(); // a message round trip through the blocked worker
      // its wait times out after 1 s: a message noticed only then would take that long
      expect(performance.now() - t0).toBeLessThan(500);
      expect(ids.length).toBe(1);
      expect(ids[0].length).toBeGreaterThan(0);
      const parts = pool.partCounts()[0];
      expect(Array.from(await s.run(inputs[0]))).toEqual(Array.from(first));
      await s.run(inputs[1]);
      expect(pool.partCounts()[0]).toBeGreaterThanOrEqual(parts);
    }
    expect(pool.sleepCounts().length).toBe(2);
    s.release();
  });

  it('counters of different ops and part counts of different threads are 64 bytes apart', async () => {
    expect(LINE_WORDS * 4).toBe(64);
    const s = await Session.create(fused, { threads: 2 });
    const { counters, ops } = (await planOf(s)).threaded!.plan;
    expect(counters.length).toBe(3 * LINE_WORDS * ops.length);
    s.release();
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
    for (const threads of [0, -1, 1.5, 65, 'all', '4']) {
      const e = await rejection(Session.create(fused, { threads: threads as number }));
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
