// The plans a session keeps per batch size are bounded (maxCachedPlans, default 2: batch 1 plus
// the latest other size, least recently used out), evicted plans leave the worker threads too, and
// runs with alternating batch sizes still give the reference outputs.
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import type { ExecutionPlan } from '../../src/runtime/plan.js';
import type { ThreadPool } from '../../src/runtime/pool.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

const SIZE = 32;
let model: Uint8Array;
let images: Float32Array[];
/** Each image's output from a fresh single-thread session (batch 1). */
let reference: Float32Array[];

beforeAll(async () => {
  const calib = tinyInputs(400, 6, SIZE);
  model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 9, size: SIZE })), { calibration: calib, calibrationCount: calib.length, fuseResidual: true })).edgeq;
  images = tinyInputs(401, 5, SIZE);
  const s = await Session.create(model, { threads: 1 });
  reference = [];
  for (const x of images) reference.push(await s.run(x));
  s.release();
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const poolOf = (s: Session) => (s as unknown as { pool?: ThreadPool }).pool;

/** The pool plan ids of the session's cached plans, sorted. */
async function cachedPlanIds(s: Session): Promise<number[]> {
  const plans = (s as unknown as { plans: Map<number, Promise<ExecutionPlan>> }).plans;
  const ids = [];
  for (const p of plans.values()) ids.push((await p).threaded!.plan.id);
  return ids.sort((a, b) => a - b);
}

/** Runs images 0..batch-1 as one batch and checks every image's output against the reference. */
async function runBatch(s: Session, batch: number): Promise<void> {
  const per = images[0].length;
  const x = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) x.set(images[i], i * per);
  const y = await s.run(x);
  const n = reference[0].length;
  expect(y.length).toBe(batch * n);
  for (let i = 0; i < batch; i++) expect(bits(y.subarray(i * n, (i + 1) * n)), `batch ${batch} image ${i}`).toEqual(bits(reference[i]));
}

describe('plan cache', () => {
  it('threads: alternating batch sizes give the reference outputs; the session and each worker hold at most 2 plans', async () => {
    const s = await Session.create(model, { threads: 2 });
    const pool = poolOf(s)!;
    expect(pool).toBeDefined();
    expect(s.cachedBatchSizes).toEqual([1]);
    const expected = [[1], [1, 2], [1, 3], [1, 2], [1, 4], [1, 4], [1, 3], [1, 3]];
    const sizes = [1, 2, 3, 2, 4, 1, 3, 1];
    for (let k = 0; k < sizes.length; k++) {
      await runBatch(s, sizes[k]);
      expect([...s.cachedBatchSizes].sort(), `after batch ${sizes[k]}`).toEqual(expected[k]);
      const held = await pool.workerPlanIds();
      expect(held.length).toBe(1);
      // The worker holds exactly the session's cached plans: evicted ones were dropped.
      for (const ids of held) expect(ids).toEqual(await cachedPlanIds(s));
    }
    s.release();
  });

  it('maxCachedPlans 1 keeps only batch 1 between runs; 3 keeps three, least recently used out', async () => {
    const one = await Session.create(model, { threads: 2, maxCachedPlans: 1 });
    for (const b of [3, 2, 1, 2, 3, 4, 2, 3]) {
      await runBatch(one, b);
      expect(one.cachedBatchSizes).toEqual([1]);
      expect(await poolOf(one)!.workerPlanIds()).toEqual([await cachedPlanIds(one)]);
    }
    one.release();
    const three = await Session.create(model, { threads: 1, maxCachedPlans: 3 });
    for (const b of [2, 3, 2, 4]) await runBatch(three, b);
    // 3 was used least recently among the sizes other than 1
    expect([...three.cachedBatchSizes].sort()).toEqual([1, 2, 4]);
    three.release();
  });

  it('a worker that wakes for a finished run after its plan was dropped does nothing (no error)', async () => {
    const s = await Session.create(model, { threads: 2, maxCachedPlans: 1 });
    const pool = poolOf(s)!;
    const before = await cachedPlanIds(s);
    await runBatch(s, 3); // planned, run, dropped
    expect(await pool.workerPlanIds()).toEqual([before]);
    // Replay the late wake-up: the worker sees a new generation whose plan is the dropped one
    // (ctl[1] = plan id, ctl[0] = generation), as when the main thread did every part alone.
    const ctl = (pool as unknown as { ctl: Int32Array }).ctl;
    const droppedId = Math.max(...before) + 1;
    Atomics.store(ctl, 1, droppedId);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    await pool.workerPlanIds(); // the worker has handled the wake-up by the time it answers
    await runBatch(s, 1);
    await runBatch(s, 2);
    s.release();
  });

  it('single thread: the default keeps batch 1 and the latest other size', async () => {
    const s = await Session.create(model, { threads: 1 });
    for (const b of [2, 5, 3]) await runBatch(s, b);
    expect(s.cachedBatchSizes).toEqual([1, 3]);
    s.release();
  });

  it('rejects a bad maxCachedPlans with BAD_OPTION', async () => {
    for (const v of [0, -1, 1.5, '2', null]) {
      let e: unknown;
      try { await Session.create(model, { maxCachedPlans: v } as never); } catch (err) { e = err; }
      expect(e, String(v)).toBeInstanceOf(EdgeqError);
      expect((e as EdgeqError).code).toBe('BAD_OPTION');
      expect((e as Error).message).toContain('maxCachedPlans');
    }
  });
});
