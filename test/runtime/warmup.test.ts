// warmup(): runs every op once on a zero image before the first user run (create's `warmup`
// option calls it), is not profiled, and leaves the outputs unchanged.
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import type { ExecutionPlan } from '../../src/runtime/plan.js';
import type { ThreadPool } from '../../src/runtime/pool.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

const SIZE = 32;
let model: Uint8Array;
let input: Float32Array;
let reference: Float32Array;
beforeAll(async () => {
  const calib = tinyInputs(900, 6, SIZE);
  model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 29, size: SIZE })), { calibration: calib, calibrationCount: calib.length })).edgeq;
  input = tinyInputs(901, 1, SIZE)[0];
  const s = await Session.create(model, { threads: 1 });
  reference = await s.run(input);
  s.release();
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('warmup', () => {
  it('single thread: warmup() executes every op of the batch-1 plan twice; not profiled', async () => {
    const s = await Session.create(model, { threads: 1, profile: true });
    const plan = await (s as unknown as { plans: Map<number, Promise<ExecutionPlan>> }).plans.get(1)!;
    let calls = 0;
    plan.steps = plan.steps.map((step) => () => { calls++; step(); });
    await s.warmup();
    expect(calls).toBe(2 * plan.steps.length);
    expect(s.profile()).toEqual([]);
    expect(bits(await s.run(input))).toEqual(bits(reference));
    expect(s.profile().length).toBe(plan.steps.length);
    s.release();
    await expect(s.warmup()).rejects.toBeInstanceOf(EdgeqError);
  });

  it('threads: { warmup: true } has run the kernels on the pool when create returns', async () => {
    const s = await Session.create(model, { threads: 2, warmup: true, profile: true });
    const pool = (s as unknown as { pool: ThreadPool }).pool;
    expect(pool.partCounts().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(s.profile()).toEqual([]);
    expect(bits(await s.run(input))).toEqual(bits(reference));
    s.release();
    const cold = await Session.create(model, { threads: 2 });
    expect((cold as unknown as { pool: ThreadPool }).pool.partCounts().reduce((a, b) => a + b, 0)).toBe(0);
    cold.release();
  });

  it('a non-boolean warmup is BAD_OPTION', async () => {
    await expect(Session.create(model, { warmup: 1 } as never)).rejects.toMatchObject({ code: 'BAD_OPTION', message: 'warmup must be true or false, got 1' });
  });
});
