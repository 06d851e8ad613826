// Session behaviour under misuse: run() on a released session, concurrent run() calls on one
// session (queued in call order, never interleaved), release while runs are queued or in flight,
// and cancellation with an AbortSignal (EdgeqError 'ABORTED').
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { synthInput } from '../../tools/fuzz/seeds.js';
import { synthModel, tinyCnnModel, type TestModel } from './models.js';

async function rejection(p: Promise<unknown>): Promise<EdgeqError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeqError);
    return e as EdgeqError;
  }
  throw new Error('expected a rejection');
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

let tiny: TestModel;
beforeAll(async () => {
  tiny = await tinyCnnModel();
});

describe('released sessions', () => {
  it('run and classify on a released session reject with RELEASED; release twice is harmless', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    await s.run(tiny.input);
    s.release();
    s.release();
    expect((await rejection(s.run(tiny.input))).code).toBe('RELEASED');
    expect((await rejection(s.classify(tiny.input))).code).toBe('RELEASED');
  });

  it('runs still queued when the session is released reject with RELEASED', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const runs = Array.from({ length: 5 }, () => s.run(tiny.input));
    s.release();
    for (const r of runs) expect((await rejection(r)).code).toBe('RELEASED');
  });

  it('with threads, a run in flight at release finishes; the queued ones reject; no workers stay', async () => {
    const s = await Session.create(tiny.bytes, { threads: 2 });
    const solo = await s.run(tiny.input);
    const first = s.run(tiny.input);
    await new Promise((r) => setTimeout(r, 0)); // let the first run start
    const queued = s.run(tiny.input);
    s.release();
    const settled = await Promise.allSettled([first, queued]);
    if (settled[0].status === 'fulfilled') expect(bits(settled[0].value)).toEqual(bits(solo));
    else expect((settled[0].reason as EdgeqError).code).toBe('RELEASED');
    expect(settled[1].status).toBe('rejected');
    expect(((settled[1] as PromiseRejectedResult).reason as EdgeqError).code).toBe('RELEASED');
    await new Promise((r) => setTimeout(r, 200));
    expect(process.getActiveResourcesInfo().filter((r) => /worker/i.test(r))).toEqual([]);
  });
});

describe('concurrent runs on one session', () => {
  for (const threads of [1, 2]) {
    it(`are queued in call order and each gets its own output (threads ${threads})`, async () => {
      const s = await Session.create(tiny.bytes, { threads });
      const inputs = Array.from({ length: 12 }, (_, i) => synthInput(100 + i, s.inputShape as number[]));
      const solo: Float32Array[] = [];
      for (const x of inputs) solo.push(await s.run(x));
      const order: number[] = [];
      const outs = await Promise.all(inputs.map((x, i) => s.run(x).then((y) => { order.push(i); return y; })));
      expect(order).toEqual(inputs.map((_, i) => i));
      outs.forEach((y, i) => expect(bits(y)).toEqual(bits(solo[i]!)));
      // A batch queued between single runs.
      const batch = new Float32Array(inputs[0]!.length * 3);
      inputs.slice(0, 3).forEach((x, i) => batch.set(x, i * x.length));
      const [a, b, c] = await Promise.all([s.run(inputs[5]!), s.run(batch), s.run(inputs[6]!)]);
      expect(bits(a)).toEqual(bits(solo[5]!));
      expect(bits(c)).toEqual(bits(solo[6]!));
      expect(bits(b)).toEqual([...bits(solo[0]!), ...bits(solo[1]!), ...bits(solo[2]!)]);
      s.release();
    });
  }

  it('a failing run (bad input) does not block the queue', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const bad = new Float32Array(tiny.input.length).fill(Number.NaN);
    const [r1, r2, r3] = await Promise.allSettled([s.run(tiny.input), s.run(bad), s.run(tiny.input)]);
    expect(r1.status).toBe('fulfilled');
    expect(r2.status === 'rejected' && (r2.reason as EdgeqError).code).toBe('BAD_INPUT');
    expect(r3.status === 'fulfilled' && bits(r3.value)).toEqual(bits((r1 as PromiseFulfilledResult<Float32Array>).value));
    s.release();
  });
});

describe('AbortSignal', () => {
  it('an already aborted signal rejects with ABORTED, its reason as the cause', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const c = new AbortController();
    c.abort('user left');
    const e = await rejection(s.run(tiny.input, { signal: c.signal }));
    expect(e.code).toBe('ABORTED');
    expect(e.cause).toBe('user left');
    expect((await rejection(s.classify(tiny.input, { signal: AbortSignal.abort() }))).code).toBe('ABORTED');
    s.release();
  });

  it('aborting a queued run rejects it at once; the runs around it are unaffected', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const solo = await s.run(tiny.input);
    const c = new AbortController();
    const a = s.run(tiny.input);
    const b = s.run(tiny.input, { signal: c.signal });
    const d = s.run(tiny.input);
    c.abort();
    expect((await rejection(b)).code).toBe('ABORTED');
    expect(bits(await a)).toEqual(bits(solo));
    expect(bits(await d)).toEqual(bits(solo));
    s.release();
  });

  it('an abort between ops stops the run; the next run is correct', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    const solo = await s.run(tiny.input);
    let reads = 0;
    // A signal that turns aborted after a few checks, i.e. in the middle of the op loop.
    const signal = { get aborted() { return ++reads > 4; }, reason: 'mid-run', addEventListener() {}, removeEventListener() {} } as unknown as AbortSignal;
    const e = await rejection(s.run(tiny.input, { signal }));
    expect(e.code).toBe('ABORTED');
    expect(reads).toBeGreaterThan(4);
    expect(reads).toBeLessThan(4 + s.model.ops.length);
    expect(bits(await s.run(tiny.input))).toEqual(bits(solo));
    s.release();
  });

  it('with threads, an abort during a run rejects it at once; later runs are correct', async () => {
    const m = synthModel(3);
    const s = await Session.create(m.bytes, { threads: 2 });
    const solo = await s.run(m.input);
    const c = new AbortController();
    const p = s.run(m.input, { signal: c.signal });
    c.abort();
    expect((await rejection(p)).code).toBe('ABORTED');
    for (let i = 0; i < 5; i++) expect(bits(await s.run(m.input))).toEqual(bits(solo));
    s.release();
  });

  it('rejects bad run options with BAD_OPTION', async () => {
    const s = await Session.create(tiny.bytes, { threads: 1 });
    expect((await rejection(s.run(tiny.input, { sginal: 1 } as never))).code).toBe('BAD_OPTION');
    expect((await rejection(s.run(tiny.input, { signal: 'stop' } as never))).code).toBe('BAD_OPTION');
    expect((await rejection(s.run(tiny.input, null as never))).code).toBe('BAD_OPTION');
    s.release();
  });
});
