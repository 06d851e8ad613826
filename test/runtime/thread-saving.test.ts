// A model too small to pay for waking the pool's workers runs on the calling thread
// (MIN_THREAD_SAVING_NS): the modelled saving against the threshold, the option and the
// environment variable that move it, and the same output bytes either way.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import { MIN_THREAD_SAVING_NS, NS_PER_EXTRA_THREAD, modelledThreadSaving, opCost, opNs, opThreads, type ExecutionPlan } from '../../src/runtime/plan.js';
import { readEdgeq } from '../../src/format/index.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

const planOf = (s: Session): Promise<ExecutionPlan> => (s as unknown as { plan(batch: number): Promise<ExecutionPlan> }).plan(1);

let small: Uint8Array, large: Uint8Array;
let inputs: Float32Array[];
const saved = process.env.EDGEQ_MIN_THREAD_SAVING_US;

beforeAll(async () => {
  // The same network at two input sizes: 32x32 (a few microseconds of modelled saving) and 448x448.
  for (const size of [32, 448]) {
    const calib = tinyInputs(300, 4, size);
    const q = await quantizeModel(writeOnnx(tinyCnn({ seed: 5, size })), { calibration: calib, calibrationCount: calib.length });
    if (size === 32) small = q.edgeq;
    else large = q.edgeq;
  }
  inputs = tinyInputs(301, 2, 32);
});

afterEach(() => {
  if (saved === undefined) delete process.env.EDGEQ_MIN_THREAD_SAVING_US;
  else process.env.EDGEQ_MIN_THREAD_SAVING_US = saved;
});

/** The modelled saving of a model's batch-1 plan on `threads` threads (as buildPlan computes it, cores permitting). */
function saving(bytes: Uint8Array, threads: number): number {
  const model = readEdgeq(bytes);
  const ctx = { model, batch: 1, parts: threads * 8 };
  const costs = model.ops.map((op) => opCost(op, ctx));
  return modelledThreadSaving(costs, costs.map((c) => opThreads(c, threads)));
}

describe('small models on the calling thread', () => {
  it('modelledThreadSaving sums opNs - (opNs / t + NS_PER_EXTRA_THREAD (t - 1)) over the ops on t > 1 threads', () => {
    const costs = [{ macs: 32_000_000, bytes: 0 }, { macs: 64_000, bytes: 0 }, { macs: 0, bytes: 1_600_000 }];
    const ns = costs.map(opNs); // 1 ms, 2 us, 100 us
    expect(modelledThreadSaving(costs, [4, 1, 2])).toBeCloseTo(ns[0]! - (ns[0]! / 4 + 3 * NS_PER_EXTRA_THREAD) + ns[2]! - (ns[2]! / 2 + NS_PER_EXTRA_THREAD), 6);
    expect(modelledThreadSaving(costs, [1, 1, 1])).toBe(0);
  });

  it('by default the small model runs on the caller and the large one on the pool; the option and EDGEQ_MIN_THREAD_SAVING_US move the line', async () => {
    delete process.env.EDGEQ_MIN_THREAD_SAVING_US;
    const sSmall = saving(small, 2), sLarge = saving(large, 2);
    expect(sSmall).toBeLessThan(MIN_THREAD_SAVING_NS);
    expect(sLarge).toBeGreaterThan(MIN_THREAD_SAVING_NS);

    const a = await Session.create(small, { threads: 2 });
    const b = await Session.create(large, { threads: 2 });
    try {
      expect(a.threads).toBe(2);
      expect(a.threadsUsed).toBe(1);
      expect((await planOf(a)).threaded).toBeUndefined();
      expect(b.threadsUsed).toBe(2);
      expect((await planOf(b)).threaded).toBeDefined();
    } finally {
      a.release();
      b.release();
    }
    // The option: 0 always uses the pool; above the large model's saving, not even that one.
    const c = await Session.create(small, { threads: 2, minThreadSavingUs: 0 });
    const d = await Session.create(large, { threads: 2, minThreadSavingUs: sLarge / 1000 + 1 });
    try {
      expect(c.threadsUsed).toBe(2);
      expect(d.threadsUsed).toBe(1);
    } finally {
      c.release();
      d.release();
    }
    // The environment variable sets the default; the option wins over it.
    process.env.EDGEQ_MIN_THREAD_SAVING_US = '0';
    const e = await Session.create(small, { threads: 2 });
    const f = await Session.create(small, { threads: 2, minThreadSavingUs: 250 });
    try {
      expect(e.threadsUsed).toBe(2);
      expect(f.threadsUsed).toBe(1);
    } finally {
      e.release();
      f.release();
    }
  });

  it('the same output bytes on the caller, on the pool and on one thread', async () => {
    const one = await Session.create(small, { threads: 1 });
    const caller = await Session.create(small, { threads: 3, minThreadSavingUs: 1e9 });
    const pooled = await Session.create(small, { threads: 3, minThreadSavingUs: 0 });
    try {
      expect([one.threadsUsed, caller.threadsUsed, pooled.threadsUsed]).toEqual([1, 1, 3]);
      for (const x of inputs) {
        const ref = Array.from(await one.run(x));
        expect(Array.from(await caller.run(x))).toEqual(ref);
        expect(Array.from(await pooled.run(x))).toEqual(ref);
      }
    } finally {
      one.release();
      caller.release();
      pooled.release();
    }
  });

  it('a bad minThreadSavingUs or EDGEQ_MIN_THREAD_SAVING_US is a typed error', async () => {
    for (const v of [-1, Number.NaN, '5' as unknown as number]) {
      await expect(Session.create(small, { threads: 2, minThreadSavingUs: v })).rejects.toSatisfy((e: unknown) => e instanceof EdgeqError && e.code === 'BAD_OPTION' && /minThreadSavingUs/.test(e.message));
    }
    process.env.EDGEQ_MIN_THREAD_SAVING_US = 'fast';
    await expect(Session.create(small, { threads: 2 })).rejects.toSatisfy((e: unknown) => e instanceof EdgeqError && e.code === 'BAD_OPTION' && /EDGEQ_MIN_THREAD_SAVING_US/.test(e.message));
  });
});
