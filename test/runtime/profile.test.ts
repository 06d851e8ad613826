// session.profile(): per-op time of this session's runs only (single-thread and threaded), one row
// per op of the model, unchanged outputs; EDGEQ_PROFILE=1 as the option's default; formatProfile.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { readEdgeq } from '../../src/format/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { Session } from '../../src/runtime/session.js';
import { formatProfile, type ProfileRow } from '../../src/runtime/profile.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';

const SIZE = 32;
let model: Uint8Array;
let opNames: string[];
let input: Float32Array;
let reference: Float32Array;

beforeAll(async () => {
  const calib = tinyInputs(600, 6, SIZE);
  model = (await quantizeModel(writeOnnx(tinyCnn({ seed: 17, size: SIZE })), { calibration: calib, calibrationCount: calib.length })).edgeq;
  opNames = readEdgeq(model).ops.map((op) => op.name);
  input = tinyInputs(601, 1, SIZE)[0];
  const s = await Session.create(model, { threads: 1 });
  reference = await s.run(input);
  s.release();
});

afterEach(() => {
  delete process.env.EDGEQ_PROFILE;
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Every op once, in model order, each with `calls` calls, consistent sums and shares. */
function expectRows(rows: ProfileRow[], calls: number): void {
  expect(rows.map((r) => r.op)).toEqual(opNames.map((_, i) => i));
  expect(rows.map((r) => r.name)).toEqual(opNames);
  for (const r of rows) {
    expect(r.calls).toBe(calls);
    expect(r.totalMs).toBeGreaterThanOrEqual(0);
    expect(r.meanMs).toBeCloseTo(r.totalMs / calls, 9);
  }
  expect(rows.reduce((a, r) => a + r.totalMs, 0)).toBeGreaterThan(0);
  expect(rows.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 9);
  expect(rows.some((r) => r.kind.startsWith('conv '))).toBe(true);
}

async function code(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeqError);
    return `${(e as EdgeqError).code}: ${(e as Error).message}`;
  }
  return 'returned';
}

describe('session.profile()', () => {
  it('two sessions (1 and 2 threads) keep their own rows; outputs are unchanged', async () => {
    const a = await Session.create(model, { threads: 1, profile: true });
    const b = await Session.create(model, { threads: 2, profile: true });
    expect(b.threads).toBe(2);
    expect(a.profile()).toEqual([]);
    for (let i = 0; i < 3; i++) expect(bits(await a.run(input))).toEqual(bits(reference));
    for (let i = 0; i < 2; i++) expect(bits(await b.run(input))).toEqual(bits(reference));
    expectRows(a.profile(), 3);
    expectRows(b.profile(), 2);
    // a batch run counts once per op
    const batch = new Float32Array(2 * input.length);
    batch.set(input);
    batch.set(input, input.length);
    await a.run(batch);
    expectRows(a.profile(), 4);
    expectRows(b.profile(), 2);
    a.release();
    b.release();
  });

  it('reset clears after reading', async () => {
    const s = await Session.create(model, { threads: 1, profile: true });
    await s.run(input);
    expectRows(s.profile({ reset: true }), 1);
    expect(s.profile()).toEqual([]);
    await s.run(input);
    expectRows(s.profile(), 1);
    s.release();
  });

  it('without the option, profile() is BAD_OPTION; EDGEQ_PROFILE=1 turns it on unless profile: false', async () => {
    const off = await Session.create(model, { threads: 1 });
    expect(await code(() => off.profile())).toMatch(/^BAD_OPTION: this session does not profile/);
    off.release();
    expect(await code(() => Session.create(model, { profile: 'yes' } as never))).toMatch(/^BAD_OPTION: profile must be/);
    process.env.EDGEQ_PROFILE = '1';
    const on = await Session.create(model, { threads: 1 });
    await on.run(input);
    expectRows(on.profile({ reset: true }), 1); // reset: nothing left to print at exit
    on.release();
    const forcedOff = await Session.create(model, { threads: 1, profile: false });
    expect(await code(() => forcedOff.profile())).toMatch(/^BAD_OPTION/);
    forcedOff.release();
    process.env.EDGEQ_PROFILE = '0';
    const zero = await Session.create(model, { threads: 1 });
    expect(await code(() => zero.profile())).toMatch(/^BAD_OPTION/);
    zero.release();
  });

  it('formatProfile: a per-kind table with the mean time per run, and the slowest ops on request', () => {
    const rows: ProfileRow[] = [
      { op: 0, name: 'a', kind: 'conv 3x3/1 3->8 @32', calls: 2, totalMs: 6, meanMs: 3, share: 0.6 },
      { op: 1, name: 'b', kind: 'maxpool', calls: 2, totalMs: 2, meanMs: 1, share: 0.2 },
      { op: 2, name: 'c', kind: 'conv 3x3/1 3->8 @32', calls: 2, totalMs: 2, meanMs: 1, share: 0.2 },
    ];
    const lines = formatProfile(rows, { byOp: 1 }).split('\n');
    expect(lines[0]).toBe('edgeq profile: 5.00 ms per run over 3 ops (mean per call)');
    expect(lines[1]).toMatch(/^ {2}conv 3x3\/1 3->8 @32 +x2 +4\.00 ms +80\.0%$/);
    expect(lines[2]).toMatch(/^ {2}maxpool +x1 +1\.00 ms +20\.0%$/);
    expect(lines[4]).toMatch(/^ {2}#0 +a +3\.000 ms +60\.0%$/);
    expect(lines.length).toBe(5);
  });
});
