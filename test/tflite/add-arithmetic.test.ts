// An ADD imported from TFLite runs XNNPACK's qu8 add arithmetic (as TFLite's XNNPACK delegate, and so
// tfjs-tflite, computes it; docs/tflite.md): the importer sets the add op's arithmetic 'xnnpack-q21'
// and edgeq's output equals a naive loop of XNNPACK's formula with 0 LSB on generated uint8 and int8
// models (random inputs; the operands x and its max pool share x's parameters, TFLite pools keep them,
// so am = bm here: test/kernels/vadd-q21.test.ts sweeps unequal ones); a ratio outside XNNPACK's
// range keeps the f32 arithmetic.
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { writeEdgeq, type QModel } from '../../src/format/index.js';
import { Session } from '../../src/index.js';
import { xnnpackAddParams } from '../../src/ops/add.js';
import { importTflite } from '../../tools/tflite/index.js';
import { buildTflite, rng, TfliteGraphBuilder } from '../../tools/tflite/build.js';

type Scheme = 'uint8' | 'int8';

describe.each<Scheme>(['uint8', 'int8'])('TFLite %s ADD', (scheme) => {
  it('imports as arithmetic "xnnpack-q21" and equals XNNPACK\'s formula with 0 LSB', async () => {
    const b = new TfliteGraphBuilder(scheme, 13);
    const x = b.input('x', [1, 6, 6, 3]);
    // The ADD of x and its 2x2 max pool into an output of its own scale.
    const m = b.pool(x, { max: true, kernel: 2, stride: 1, padding: 'SAME', name: 'max' });
    const y = b.add(x, m, 'add');
    const bytes = buildTflite(b.model(x, y));
    const r = importTflite(bytes, { keepLogits: true });
    const adds = r.model.ops.filter((o) => o.op === 'add');
    expect(adds.map((o) => o.op === 'add' && o.arithmetic)).toEqual(['xnnpack-q21']);

    const session = await Session.create(r.edgeq, { threads: 1 });
    const T = session.model.tensors;
    const inT = T[session.model.input.tensor]!, outT = T[session.model.outputs[0]!.tensor]!;
    const shift = scheme === 'int8' ? 128 : 0;
    const p = xnnpackAddParams(x.scale, m.scale, y.scale);
    expect(p.shift).toBeGreaterThanOrEqual(12);
    const next = rng(17);
    let worst = 0, total = 0;
    try {
      for (let n = 0; n < 20; n++) {
        const px = Array.from({ length: 108 }, () => next(256)); // stored values (int8: i + 128)
        const input = new Float32Array(108);
        for (let q = 0; q < 36; q++) for (let c = 0; c < 3; c++) input[c * 36 + q] = (px[q * 3 + c]! - inT.zeroPoint) * inT.scale;
        const out = await session.run(input);
        for (let h = 0; h < 6; h++) for (let w = 0; w < 6; w++) for (let c = 0; c < 3; c++) {
          // The 2x2 SAME max pool (stride 1): the window's rows h, h + 1 and columns w, w + 1 inside the image.
          let mx = 0;
          for (let dh = 0; dh < 2; dh++) for (let dw = 0; dw < 2; dw++) if (h + dh < 6 && w + dw < 6) mx = Math.max(mx, px[((h + dh) * 6 + w + dw) * 3 + c]!);
          const a = px[(h * 6 + w) * 3 + c]!;
          const acc = p.am * (a - (x.zeroPoint + shift)) + p.bm * (mx - (m.zeroPoint + shift)) + 2 ** (p.shift - 1);
          const want = Math.min(255, Math.max(0, Math.floor(acc / 2 ** p.shift) + y.zeroPoint + shift));
          const got = Math.round(out[c * 36 + h * 6 + w]! / outT.scale) + outT.zeroPoint;
          worst = Math.max(worst, Math.abs(got - want));
          total++;
        }
      }
    } finally {
      session.release();
    }
    expect(total).toBe(2160);
    expect(worst).toBe(0);
  });
});

describe('an ADD outside XNNPACK\'s range', () => {
  it('keeps the f32 arithmetic (XNNPACK\'s delegate leaves such an ADD to TFLite)', () => {
    const b = new TfliteGraphBuilder('uint8', 14);
    const x = b.input('x', [1, 4, 4, 3]);
    const m = b.pool(x, { max: true, kernel: 2, stride: 1, padding: 'SAME', name: 'max' });
    const y = b.add(x, m, 'add');
    // Output scale 2^11 times the inputs': ratios 2^-11, below XNNPACK's 2^-10.
    b.tensors[y.k]!.scale = [x.scale * 2 ** 11];
    const r = importTflite(buildTflite(b.model(x, { ...y, scale: x.scale * 2 ** 11 })), { keepLogits: true });
    expect(r.model.ops.filter((o) => o.op === 'add').map((o) => o.op === 'add' && o.arithmetic)).toEqual([undefined]);
  });
});

describe('add arithmetic: what the validator refuses', () => {
  it.each<[string, (m: QModel) => QModel, string]>([
    ['an unknown arithmetic', (m) => ({ ...m, ops: m.ops.map((o) => (o.op === 'add' ? { ...o, arithmetic: 'f64' as never } : o)) }), 'is not "f32" or "xnnpack-q21"'],
    ['a scale ratio outside [2^-10, 2^8)', (m) => {
      const a = m.ops.find((o) => o.op === 'add')!;
      return { ...m, tensors: m.tensors.map((t, i) => (a.op === 'add' && i === a.output ? { ...t, scale: t.scale * 4096 } : t)) };
    }, 'in [2^-10, 2^8)'],
  ])('%s: BAD_MODEL naming the op', async (_what, edit, text) => {
    const b = new TfliteGraphBuilder('uint8', 13);
    const x = b.input('x', [1, 4, 4, 3]);
    const r = importTflite(buildTflite(b.model(x, b.add(x, b.pool(x, { max: true, kernel: 2, stride: 1, padding: 'SAME', name: 'max' }), 'add'))), { keepLogits: true });
    const err = await Session.create(writeEdgeq(edit(r.model))).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeqError);
    expect((err as EdgeqError).code).toBe('BAD_MODEL');
    expect((err as EdgeqError).message).toContain(text);
    expect((err as EdgeqError).message).toContain('ADD');
  });
});
