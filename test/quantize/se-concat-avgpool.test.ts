// Squeeze-and-excitation Mul, fire-module Concat, AveragePool and ceil-mode MaxPool through the
// quantizer, against the QDQ export in onnxruntime-web (same integers: measured in output LSBs) and
// against fp32 (cosine), at 8- and 12-bit activations; top-1 agreement with a classifier head.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import type { ModelDef } from '../../tools/onnx/model.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { tinyInputs } from './tiny-cnn.js';
import { inceptionModel, requantConcatModel, seModel, squeezeModel, SE_GATE } from './se-concat-models.js';

const run = async (s: ReferenceSession, x: Float32Array) => (await s.run({ input: x })).outputs[s.outputNames[0]].data as Float32Array;

/** edgeq vs the QDQ export in ORT (output LSBs) and both vs fp32, over `count` inputs. */
async function compare(model: ModelDef, size: number, activations: 8 | 12) {
  const bytes = writeOnnx(model);
  const calib = tinyInputs(40, 16, size);
  const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, activations });
  const outScale = q.model.tensors[q.model.outputs[0]!.tensor]!.scale;
  const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq);
  const e = await Session.create(q.edgeq);
  let same = 0, total = 0, worst = 0, minCos = 1;
  for (const x of tinyInputs(50, 6, size)) {
    const f = await run(fp32, x), d = await run(qdq, x), y = await e.run(x);
    expect(y.length).toBe(d.length);
    for (let i = 0; i < y.length; i++) {
      const lsb = Math.round(Math.abs(y[i]! - d[i]!) / outScale);
      worst = Math.max(worst, lsb);
      if (lsb === 0) same++;
      total++;
    }
    minCos = Math.min(minCos, cosine(f, y), cosine(f, d));
  }
  await fp32.release(); await qdq.release(); e.release();
  return { q, worst, same, total, minCos };
}

describe('SE block, fire module, Inception-style pools through the quantizer', () => {
  for (const activations of [8, 12] as const) {
    it(`SE block (${SE_GATE} gate): a channel-broadcast mul; edgeq == QDQ in onnxruntime-web (${activations}-bit)`, async () => {
      const r = await compare(seModel(3), 8, activations);
      const mul = r.q.model.ops.find((o) => o.op === 'mul');
      expect(mul && mul.op === 'mul' && r.q.model.tensors[mul.b]!.shape).toEqual([1, 1, 1, 24]);
      // Measured 2026-12-04: min cosine 0.9897 (8-bit), 0.9909 (12-bit).
      expect(r.minCos).toBeGreaterThan(0.985);
      expect({ worst: r.worst, same: r.same }, `${r.same}/${r.total} identical`).toEqual({ worst: 0, same: r.total });
    });

    it(`SqueezeNet fire modules after a ceil-mode MaxPool: concat copies (shared scale); edgeq == QDQ (${activations}-bit)`, async () => {
      const r = await compare(squeezeModel(4), 8, activations);
      const T = r.q.model.tensors;
      const cats = r.q.model.ops.filter((o) => o.op === 'concat');
      expect(cats).toHaveLength(2);
      // Both expand branches end in Relu from similar ranges: the shared-range rule makes each a copy.
      for (const c of cats) if (c.op === 'concat') for (const i of c.inputs) expect([T[i]!.scale, T[i]!.zeroPoint]).toEqual([T[c.output]!.scale, T[c.output]!.zeroPoint]);
      const mp = r.q.model.ops.find((o) => o.op === 'maxpool');
      expect(mp && mp.op === 'maxpool' && [mp.pads, T[mp.output]!.shape]).toEqual([[0, 0, 1, 1], [1, 4, 4, 16]]);
      expect(r.minCos).toBeGreaterThan(0.99);
      expect({ worst: r.worst, same: r.same }, `${r.same}/${r.total} identical`).toEqual({ worst: 0, same: r.total });
    });

    it(`Concat of inputs with ranges far apart (axis -3): requantized into the output; edgeq == QDQ (${activations}-bit)`, async () => {
      const r = await compare(requantConcatModel(6), 8, activations);
      const T = r.q.model.tensors, cat = r.q.model.ops.find((o) => o.op === 'concat');
      const copied = cat && cat.op === 'concat' ? cat.inputs.filter((i) => T[i]!.scale === T[cat.output]!.scale && T[i]!.zeroPoint === T[cat.output]!.zeroPoint).length : -1;
      expect(copied).toBeLessThan(3);
      expect(r.minCos).toBeGreaterThan(0.985);
      expect({ worst: r.worst, same: r.same }, `${r.same}/${r.total} identical`).toEqual({ worst: 0, same: r.total });
    });

    for (const include of [false, true]) {
      it(`Inception-style: AveragePool 3x3/1 (count_include_pad ${include ? 1 : 0}), AveragePool 2x2/2 ceil_mode 1, a 3-way concat; edgeq == QDQ (${activations}-bit)`, async () => {
        const r = await compare(inceptionModel(5, 9, include), 9, activations);
        const pools = r.q.model.ops.filter((o) => o.op === 'avgpool');
        expect(pools.map((p) => p.op === 'avgpool' && [p.kernel, p.pads, p.countIncludePad])).toEqual([[[3, 3], [1, 1, 1, 1], include], [[2, 2], [0, 0, 1, 1], false]]);
        const T = r.q.model.tensors, cat = r.q.model.ops.find((o) => o.op === 'concat');
        const copied = cat && cat.op === 'concat' ? cat.inputs.filter((i) => T[i]!.scale === T[cat.output]!.scale && T[i]!.zeroPoint === T[cat.output]!.zeroPoint).length : -1;
        // Three ReLU branches of similar ranges: one shared scale, the concat is a copy.
        expect(copied).toBe(3);
        expect(r.minCos).toBeGreaterThan(0.99);
        expect({ worst: r.worst, same: r.same }, `${r.same}/${r.total} identical`).toEqual({ worst: 0, same: r.total });
      });
    }
  }

  it('top-1: edgeq agrees with the QDQ export and fp32 on SE and fire models with a classifier head', async () => {
    for (const [model, size] of [[seModel(7, 8, true), 8], [squeezeModel(8, 8, true), 8]] as const) {
      const bytes = writeOnnx(model);
      const calib = tinyInputs(41, 16, size);
      const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length });
      const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq);
      const e = await Session.create(q.edgeq);
      const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));
      let withQdq = 0, withFp32 = 0;
      const inputs = tinyInputs(51, 20, size);
      for (const x of inputs) {
        const y = await e.run(x);
        if (argmax(y) === argmax(await run(qdq, x))) withQdq++;
        if (argmax(y) === argmax(await run(fp32, x))) withFp32++;
      }
      await fp32.release(); await qdq.release(); e.release();
      expect(withQdq).toBe(inputs.length);
      expect(withFp32).toBeGreaterThanOrEqual(inputs.length - 2);
    }
  });
});
