// A global AVERAGE_POOL_2D imported from TFLite rounds as TFLite's integer average pool (uint8:
// (sum + count / 2) / count, ties up; int8: ties away from zero): the importer sets the gap op's
// `rounding`, and edgeq's output equals the reference interpreter (tools/tflite/reference.ts) with
// 0 LSB on generated models whose random inputs hit exact ties; with the default rounding
// ('half-even', onnxruntime's) the same ties differ, so the mode is what makes them equal.
import { describe, expect, it } from 'vitest';
import { writeEdgeq, type QModel } from '../../src/format/index.js';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/index.js';
import { importTflite } from '../../tools/tflite/index.js';
import { readTflite } from '../../tools/tflite/reader.js';
import { runTfliteReference } from '../../tools/tflite/reference.js';
import { buildTflite, rng, TfliteGraphBuilder } from '../../tools/tflite/build.js';

type Scheme = 'uint8' | 'int8';

/** edgeq's .edgeq and the reference on `count` random inputs: outputs that differ, worst |difference|, and the exact ties the inputs hit. */
async function run(edgeq: Uint8Array, bytes: Uint8Array, scheme: Scheme, count: number): Promise<{ differ: number; worst: number; ties: number; total: number }> {
  const model = readTflite(bytes);
  const g = model.subgraphs[0]!;
  const [, H, W, C] = g.tensors[g.inputs[0]!]!.shape as [number, number, number, number];
  const session = await Session.create(edgeq, { threads: 1 });
  const inT = session.model.tensors[session.model.input.tensor]!;
  const next = rng(5);
  const shift = scheme === 'int8' ? 128 : 0;
  let differ = 0, worst = 0, ties = 0, total = 0;
  try {
    for (let n = 0; n < count; n++) {
      const px = Int32Array.from({ length: H * W * C }, () => next(256) - shift);
      const x = new Float32Array(H * W * C);
      for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) x[c * H * W + p] = (px[p * C + c]! + shift - inT.zeroPoint) * inT.scale;
      const y = await session.run(x);
      const ref = runTfliteReference(model, px);
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let p = 0; p < H * W; p++) sum += px[p * C + c]!;
        if (H * W % 2 === 0 && Math.abs(sum) % (H * W) === H * W / 2) ties++;
        const d = Math.abs(Math.round(y[c]! / ref.scale) + ref.zeroPoint - ref.data[c]!);
        worst = Math.max(worst, d);
        if (d) differ++;
        total++;
      }
    }
  } finally {
    session.release();
  }
  return { differ, worst, ties, total };
}

describe.each<Scheme>(['uint8', 'int8'])('TFLite %s global AVERAGE_POOL_2D', (scheme) => {
  it.each([[4, 4], [2, 2], [8, 8], [5, 5]])('%ix%i: rounding set by the importer, 0 LSB against the reference interpreter', async (H, W) => {
    const b = new TfliteGraphBuilder(scheme, 11);
    const x = b.input('x', [1, H, W, 3]);
    const bytes = buildTflite(b.model(x, b.pool(x, { kernel: H, stride: 1, padding: 'VALID', name: 'gap' })));
    const r = importTflite(bytes, { keepLogits: true });
    const gaps = r.model.ops.filter((o) => o.op === 'gap');
    expect(gaps.length).toBe(1);
    expect(gaps[0]!.op === 'gap' && gaps[0]!.rounding).toBe(scheme === 'int8' ? 'half-away-from-128' : 'half-up');

    const exact = await run(r.edgeq, bytes, scheme, 200);
    console.log(`${scheme} ${H}x${W}: ${exact.ties} ties in ${exact.total} outputs; ${exact.differ} differ (worst ${exact.worst} LSB)`);
    expect(exact.worst).toBe(0);
    if (H * W % 2 === 1) return;
    expect(exact.ties).toBeGreaterThan(5);

    // The same model with the default rounding: half of the ties (the odd quotients) round the other way.
    const halfEven: QModel = { ...r.model, ops: r.model.ops.map((o) => (o.op === 'gap' ? { ...o, rounding: 'half-even' as const } : o)) };
    const other = await run(writeEdgeq(halfEven), bytes, scheme, 200);
    expect(other.worst).toBe(1);
    expect(other.differ).toBeGreaterThan(0);
    expect(other.differ).toBeLessThanOrEqual(exact.ties);
  });
});

describe.each<Scheme>(['uint8', 'int8'])('TFLite %s windowed AVERAGE_POOL_2D', (scheme) => {
  it.each<[number, number, 'SAME' | 'VALID']>([[2, 2, 'VALID'], [3, 2, 'SAME'], [2, 1, 'SAME']])('kernel %i stride %i %s: avgpool rounding set, 0 LSB against the reference interpreter', async (k, s, padding) => {
    const b = new TfliteGraphBuilder(scheme, 12);
    const x = b.input('x', [1, 7, 6, 3]);
    const bytes = buildTflite(b.model(x, b.pool(x, { kernel: k, stride: s, padding, name: 'avg' })));
    const r = importTflite(bytes, { keepLogits: true });
    const pools = r.model.ops.filter((o) => o.op === 'avgpool');
    expect(pools.map((o) => o.op === 'avgpool' && o.rounding)).toEqual([scheme === 'int8' ? 'half-away-from-128' : 'half-up']);
    const model = readTflite(bytes);
    const session = await Session.create(r.edgeq, { threads: 1 });
    const inT = session.model.tensors[session.model.input.tensor]!;
    const next = rng(6);
    const shift = scheme === 'int8' ? 128 : 0;
    let worst = 0, total = 0;
    try {
      for (let n = 0; n < 50; n++) {
        const px = Int32Array.from({ length: 126 }, () => next(256) - shift);
        const xin = new Float32Array(126);
        for (let p = 0; p < 42; p++) for (let c = 0; c < 3; c++) xin[c * 42 + p] = (px[p * 3 + c]! + shift - inT.zeroPoint) * inT.scale;
        const y = await session.run(xin);
        const ref = runTfliteReference(model, px);
        const hw = y.length / 3;
        for (let i = 0; i < y.length; i++) {
          worst = Math.max(worst, Math.abs(Math.round(y[(i % 3) * hw + Math.floor(i / 3)]! / ref.scale) + ref.zeroPoint - ref.data[i]!));
          total++;
        }
      }
    } finally {
      session.release();
    }
    expect(total).toBeGreaterThan(500);
    expect(worst).toBe(0);
  });
});

describe('gap rounding: what the validator refuses', () => {
  it.each<[string, (m: QModel) => QModel, string]>([
    ['an unknown mode', (m) => ({ ...m, ops: m.ops.map((o) => (o.op === 'gap' ? { ...o, rounding: 'half-odd' as never } : o)) }), 'is not "half-even"'],
    ['output parameters not the input\'s', (m) => {
      const g = m.ops.find((o) => o.op === 'gap')!;
      return { ...m, tensors: m.tensors.map((t, i) => (g.op === 'gap' && i === g.output ? { ...t, scale: t.scale * 2 } : t)) };
    }, 'one scale and zero point'],
  ])('%s: BAD_MODEL naming the op', async (_what, edit, text) => {
    const b = new TfliteGraphBuilder('uint8', 11);
    const x = b.input('x', [1, 4, 4, 3]);
    const r = importTflite(buildTflite(b.model(x, b.pool(x, { kernel: 4, stride: 1, padding: 'VALID', name: 'gap' }))), { keepLogits: true });
    const err = await Session.create(writeEdgeq(edit(r.model))).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('BAD_MODEL');
    expect((err as EdgeqError).message).toContain(text);
    expect((err as EdgeqError).message).toContain('AVERAGE_POOL_2D');
  });
});
