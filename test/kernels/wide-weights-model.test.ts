// int16 (-w16) weights through a whole Session: a model whose every int8 conv blob is rewritten in
// its -w16 form (same values; the larger ones as outliers) runs to the same outputs, bit for bit, as the int8
// model (which may take the relaxed or Winograd kernels: both bit-identical to the i16 ones); and
// the reader rejects a -w16 section of the wrong size, a weight outside [-255, 255] (also in
// qu8-dwconv-c16), an outlier on padding or off the weights, non-zero K padding and an unknown packing
// name, each BAD_MODEL naming the op. The same for qu8-dwconv-c16-w8 (depthwise weights stored as
// int8 plus their outliers, expanded at load): the qu8-dwconv-c16 model's outputs bit for bit, on
// the i16 and (in Deno, test/kernels/relaxed.test.ts's engine) relaxed kernels alike.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeEdgeq } from '../../src/format/writer.js';
import type { QConv, QModel } from '../../src/format/qmodel.js';
import { PACKING_DWCONV, PACKING_DWCONV_W8, PACKING_GEMM, PACKING_GEMM_W16, PACKING_IM2COL, PACKING_IM2COL_W16, compactDwconvWeights, expandDwconvWeights, packConv, packConvWeights, packGeometry } from '../../src/kernels/packing.js';
import { Session } from '../../src/runtime/session.js';
import { synthBlocksQModel, synthInput, synthQModel } from '../../tools/fuzz/seeds.js';

const WIDE: Record<string, string> = { [PACKING_GEMM]: PACKING_GEMM_W16, [PACKING_IM2COL]: PACKING_IM2COL_W16 };

/**
 * The -w16 section holding the same weights as an int8 2x4c8 blob: its int8 blocks with every
 * weight of magnitude >= 100 moved to the outlier list (its byte set to 0), so that the expansion's
 * outlier path carries many real weights.
 */
function widen(blob: Uint8Array, conv: QConv): Uint8Array {
  const g = packGeometry(conv, conv.packing);
  const blocks = blob.slice();
  const outliers: [number, number][] = [];
  for (let b = 0; b < g.groups * g.nBlocks; b++) {
    for (let at = b * g.blockBytes + 16; at < (b + 1) * g.blockBytes - 16; at++) {
      const v = (blocks[at]! << 24) >> 24;
      if (Math.abs(v) >= 100) { outliers.push([at, v]); blocks[at] = 0; }
    }
  }
  const out = new Uint8Array(blocks.length + 4 + 8 * outliers.length);
  out.set(blocks);
  const dv = new DataView(out.buffer);
  dv.setUint32(blocks.length, outliers.length, true);
  outliers.forEach(([at, v], i) => { dv.setUint32(blocks.length + 4 + 8 * i, at, true); dv.setInt32(blocks.length + 8 + 8 * i, v, true); });
  return out;
}

/** The model with every int8 GEMM-layout conv rewritten as -w16 (depthwise ones unchanged). */
function widened(m: QModel): QModel {
  const blobs: Uint8Array[] = m.blobs.map((b) => b.slice());
  const ops = m.ops.map((op) => {
    if (op.op !== 'conv' || !WIDE[op.packing]) return op;
    blobs[op.weights] = widen(m.blobs[op.weights]!, op);
    return { ...op, packing: WIDE[op.packing]! };
  });
  return { ...m, ops, blobs };
}

async function outputs(m: QModel, inputs: Float32Array[]): Promise<Float32Array[]> {
  const s = await Session.create(writeEdgeq(m), { threads: 1 });
  try {
    const out: Float32Array[] = [];
    for (const x of inputs) out.push((await s.run(x)).slice());
    return out;
  } finally {
    s.release();
  }
}

async function expectBad(m: QModel, ...fragments: string[]): Promise<void> {
  let err: unknown;
  try {
    (await Session.create(writeEdgeq(m), { threads: 1 })).release();
  } catch (e) { err = e; }
  expect(err, 'expected the file to be rejected').toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code, (err as Error).message).toBe('BAD_MODEL');
  for (const f of fragments) expect((err as Error).message).toContain(f);
}

const firstWide = (m: QModel): QConv => m.ops.find((op): op is QConv => op.op === 'conv' && op.packing.endsWith('-w16'))!;

describe('-w16 convolutions in a Session', () => {
  for (const [name, make] of [['synthQModel', synthQModel], ['synthBlocksQModel', synthBlocksQModel]] as const) {
    it(`${name}: every conv as -w16 gives the int8 model's outputs bit for bit (seeds 0..3)`, async () => {
      for (const seed of [0, 1, 2, 3]) {
        const m = make(seed);
        const w = widened(m);
        expect(w.ops.filter((op) => op.op === 'conv' && op.packing.endsWith('-w16')).length).toBeGreaterThan(1);
        const shape = [1, ...m.tensors[m.input.tensor]!.shape.slice(1)];
        const inputs = [1, 2].map((k) => synthInput(seed * 10 + k, [shape[0]!, shape[3]!, shape[1]!, shape[2]!]));
        const [a, b] = [await outputs(m, inputs), await outputs(w, inputs)];
        for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!), `${name} seed ${seed} input ${i}`).toEqual(Array.from(a[i]!));
      }
    });
  }

  it('rejects a -w16 section of the wrong size, an outlier outside [-255, 255], on a padding weight or off the weights, and non-zero K padding, naming the op', async () => {
    const m = widened(synthQModel(2));
    const conv = firstWide(m);
    const g = packGeometry(conv, conv.packing);
    const blob = m.blobs[conv.weights]!;
    const n = new DataView(blob.buffer, blob.byteOffset).getUint32(g.storedBytes, true);
    expect(n).toBeGreaterThan(0);
    const edited = (c: QConv, edit: (dv: DataView, b: Uint8Array) => void, cut = 0): QModel => {
      const blobs = m.blobs.map((b) => b.slice());
      blobs[c.weights] = blobs[c.weights]!.subarray(0, blobs[c.weights]!.length - cut);
      edit(new DataView(blobs[c.weights]!.buffer, blobs[c.weights]!.byteOffset), blobs[c.weights]!);
      return { ...m, blobs };
    };
    await expectBad(edited(conv, () => {}, 8), `op "${conv.name}"`, `packing ${conv.packing} needs ${g.storedBytes + 4 + 8 * n} (${n} outliers)`);
    await expectBad(edited(conv, (dv) => dv.setUint32(g.storedBytes, 2 ** 30, true)), `op "${conv.name}"`, 'outliers)');
    for (const v of [256, -256, 32767]) {
      await expectBad(edited(conv, (dv) => dv.setInt32(g.storedBytes + 8, v, true)), `op "${conv.name}"`, `value ${v} is outside [-255, 255]`);
    }
    for (const at of [0, 12, g.storedBlockBytes - 4, g.storedBytes, 2 ** 31]) {
      await expectBad(edited(conv, (dv) => dv.setUint32(g.storedBytes + 4, at, true)), `op "${conv.name}"`, `position ${at} is not a weight`);
    }
    // A conv whose channels leave K padding: its last padded K index (tap 0, lane 0).
    const padded = m.ops.find((op): op is QConv => {
      if (op.op !== 'conv' || !op.packing.endsWith('-w16')) return false;
      const pg = packGeometry(op, op.packing);
      return (pg.im2col ? op.kernel[0] * op.kernel[1] * pg.cinPerGroup : pg.cinPerGroup) < pg.KB * 8;
    })!;
    expect(padded).toBeDefined();
    const pg = packGeometry(padded, padded.packing), k = pg.KB * 8 - 1;
    const pad = 16 + (k >> 3) * 32 + (k & 7);
    await expectBad(edited(padded, (_, b) => { b[pad] = 1; }), `op "${padded.name}"`, 'padding weight');
    const pn = new DataView(m.blobs[padded.weights]!.buffer, m.blobs[padded.weights]!.byteOffset).getUint32(pg.storedBytes, true);
    expect(pn).toBeGreaterThan(0);
    await expectBad(edited(padded, (dv) => dv.setUint32(pg.storedBytes + 4, pad, true)), `op "${padded.name}"`, `position ${pad} is a padding weight`);
  });

  it('qu8-dwconv-c16-w8: packs to half the int16 bytes plus its outliers, expands to the qu8-dwconv-c16 blob, runs to the same outputs; bad sections are BAD_MODEL', async () => {
    const m = synthQModel(2);
    const i = m.ops.findIndex((op) => op.op === 'conv' && op.inChannels === op.outChannels && op.kernel[0] === 3);
    const c = m.ops[i] as QConv, C = c.inChannels;
    // Weights across [-255, 255]: every 7th +-255, the rest spread; some fit int8, many do not.
    const weights = Int16Array.from({ length: C * 9 }, (_, k) => (k % 7 === 0 ? 255 : k % 7 === 1 ? -255 : (k * 37) % 511 - 255));
    const p = { outChannels: C, inChannels: C, kernel: [3, 3] as [number, number], group: C, weights, multipliers: new Float32Array(C).fill(1e-4), inputZeroPoint: m.tensors[c.input]!.zeroPoint };
    const wide = packConv(p), compact = packConv({ ...p, packing: PACKING_DWCONV_W8 });
    expect([wide.packing, compact.packing]).toEqual([PACKING_DWCONV, PACKING_DWCONV_W8]);
    const g = packGeometry(p, PACKING_DWCONV_W8), outliers = Array.from(weights).filter((v) => v < -128 || v > 127).length;
    expect(compact.blob.length).toBe(g.storedBytes + 4 + 8 * outliers);
    expect(g.storedBytes).toBe(g.nBlocks * (128 + 9 * 16));
    expect(compact.blob).toEqual(compactDwconvWeights(wide.blob, packGeometry(p, PACKING_DWCONV)));
    expect(expandDwconvWeights(compact.blob, g)).toEqual(wide.blob);
    expect(packConvWeights({ ...p, packing: PACKING_DWCONV_W8 })).toEqual(compact.blob);
    const withBlob = (packing: string, blob: Uint8Array): QModel => ({ ...m, ops: m.ops.map((op, k) => (k === i ? { ...c, group: C, packing } : op)), blobs: m.blobs.map((b, k) => (k === c.weights ? blob : b)) });
    const shape = m.tensors[m.input.tensor]!.shape;
    const inputs = [1, 2].map((k) => synthInput(20 + k, [shape[0]!, shape[3]!, shape[1]!, shape[2]!]));
    const [a, b] = [await outputs(withBlob(PACKING_DWCONV, wide.blob), inputs), await outputs(withBlob(PACKING_DWCONV_W8, compact.blob), inputs)];
    for (let k = 0; k < a.length; k++) expect(Array.from(b[k]!), `input ${k}`).toEqual(Array.from(a[k]!));
    const edited = (edit: (dv: DataView, b: Uint8Array) => void, cut = 0): QModel => {
      const blob = compact.blob.slice(0, compact.blob.length - cut);
      edit(new DataView(blob.buffer), blob);
      return withBlob(PACKING_DWCONV_W8, blob);
    };
    await expectBad(edited(() => {}, 8), `op "${c.name}"`, `packing ${PACKING_DWCONV_W8} needs ${g.storedBytes + 4 + 8 * outliers} (${outliers} outliers)`);
    for (const v of [256, -300]) await expectBad(edited((dv) => dv.setInt32(g.storedBytes + 8, v, true)), `op "${c.name}"`, `value ${v} is outside [-255, 255]`);
    // Bias bytes, multiplier bytes, past the blocks: not weights.
    for (const at of [0, 63, g.storedBlockBytes - 64, g.storedBlockBytes + 8, g.storedBytes]) {
      await expectBad(edited((dv) => dv.setUint32(g.storedBytes + 4, at, true)), `op "${c.name}"`, `position ${at} is not a weight of the int8 blocks`);
    }
    await expectBad(edited((dv) => dv.setFloat32(g.storedBlockBytes - 4, Number.NaN, true)), `op "${c.name}"`, '(expanded to int16)', 'requantization multiplier NaN');
  });

  it('rejects a qu8-dwconv-c16 weight outside [-255, 255] and an unknown packing name', async () => {
    // A conv with as many outputs as inputs made depthwise, with wide weights (+-255 included).
    const m = synthQModel(2);
    const i = m.ops.findIndex((op) => op.op === 'conv' && op.inChannels === op.outChannels && op.kernel[0] === 3);
    const c = m.ops[i] as QConv, C = c.inChannels;
    const weights = Int16Array.from({ length: C * 9 }, (_, k) => (k % 7 === 0 ? 255 : k % 7 === 1 ? -255 : (k * 37) % 511 - 255));
    const packed = packConv({ outChannels: C, inChannels: C, kernel: [3, 3], group: C, weights, multipliers: new Float32Array(C).fill(1e-4), inputZeroPoint: m.tensors[c.input]!.zeroPoint });
    expect(packed.packing).toBe(PACKING_DWCONV);
    const dw: QConv = { ...c, group: C, packing: packed.packing };
    const good: QModel = { ...m, ops: m.ops.map((op, k) => (k === i ? dw : op)), blobs: m.blobs.map((b, k) => (k === c.weights ? packed.blob : b)) };
    (await Session.create(writeEdgeq(good), { threads: 1 })).release();
    const bad = { ...good, blobs: good.blobs.map((b) => b.slice()) };
    new DataView(bad.blobs[dw.weights]!.buffer).setInt16(64 + 2, -300, true);
    await expectBad(bad, `op "${dw.name}"`, 'int16 weight -300 is outside [-255, 255]');
    const conv = m.ops.find((op): op is QConv => op.op === 'conv')!;
    const unknown = { ...m, ops: m.ops.map((op) => (op === conv ? { ...conv, packing: 'qu8-gemm-2x4c8-w32' } : op)) };
    await expectBad(unknown, `op "${conv.name}"`, 'unknown weight packing "qu8-gemm-2x4c8-w32"');
  });
});
