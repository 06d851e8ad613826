// A MobileNetV2-style model through the quantizer: ONNX Conv with group == channels becomes the
// conv op with the depthwise packing (qu8-dwconv-c16, kernel qu8_dwconv_c16); the QDQ export keeps
// a standard grouped Conv, so onnxruntime-web runs the same integers. Checked: every depthwise op
// is packed qu8-dwconv-c16; edgeq against the QDQ export in ORT in output LSBs (identical: 0 LSB);
// both against fp32 (cosine > 0.99). GPTQ leaves depthwise convs alone (tools/quantize/gptq.ts: group 1 only).
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { PACKING_DWCONV } from '../../src/kernels/index.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { cosine } from '../../tools/quantize/report.js';
import { tinyInputs } from './tiny-cnn.js';
import { mobilenetBlocks, SIZE } from './mobilenet-blocks.js';

const run = async (s: ReferenceSession, x: Float32Array) => (await s.run({ input: x })).outputs[s.outputNames[0]].data as Float32Array;

describe('depthwise convolutions through the quantizer (MobileNetV2-style blocks)', () => {
  for (const [fuseResidual, activations] of [[false, 8], [true, 8], [true, 12]] as const) {
    it(`edgeq == the QDQ export in onnxruntime-web (fuseResidual ${fuseResidual}, ${activations}-bit activations), both close to fp32`, async () => {
      const bytes = writeOnnx(mobilenetBlocks(5));
      const calib = tinyInputs(40, 16, SIZE);
      const q = await quantizeModel(bytes, { calibration: calib, calibrationCount: calib.length, fuseResidual, activations });
      // 12-bit: the depthwise kernels read and write 16-bit lanes (DWCONV_FLAG_IN16 / OUT16).
      const dwIo = q.model.ops.filter((o) => o.op === 'conv' && o.group > 1).flatMap((o) => o.op === 'conv' ? [o.input, o.output] : []);
      expect(dwIo.map((t) => q.model.tensors[t]!.dtype)).toEqual(Array(4).fill(activations === 12 ? 'uint12' : 'uint8'));
      const dw = q.model.ops.filter((o) => o.op === 'conv' && o.group > 1);
      expect(dw.map((o) => o.op === 'conv' && [o.group, o.packing])).toEqual([[48, PACKING_DWCONV], [40, PACKING_DWCONV]]);
      const outScale = q.model.tensors[q.model.outputs[0]!.tensor]!.scale;
      const fp32 = await ReferenceSession.create(bytes), qdq = await ReferenceSession.create(q.qdq);
      const e = await Session.create(q.edgeq);
      let same = 0, total = 0, worst = 0;
      for (const x of tinyInputs(50, 6, SIZE)) {
        const f = await run(fp32, x), d = await run(qdq, x), y = await e.run(x);
        expect(y.length).toBe(d.length);
        for (let i = 0; i < y.length; i++) {
          const lsb = Math.round(Math.abs(y[i]! - d[i]!) / outScale);
          worst = Math.max(worst, lsb);
          if (lsb === 0) same++;
          total++;
        }
        expect(cosine(f, y)).toBeGreaterThan(0.99);
        expect(cosine(f, d)).toBeGreaterThan(0.99);
      }
      // Measured 2026-12-04: every output identical (0 LSB), fused residual or not.
      expect({ worst, same }, `${same}/${total} identical`).toEqual({ worst: 0, same: total });
      await fp32.release(); await qdq.release(); e.release();
    });
  }
});
