// Each QOperator op the importer maps, in a small hand-built model (qop-models.ts), imported and run
// by edgeq against onnxruntime-web running the ONNX file itself on the same inputs. Outputs are
// compared in output LSBs: QLinearConv, QLinearMatMul, QGemm and MaxPool share onnxruntime's
// arithmetic (int32 accumulation, one fp32 multiplier per channel, round half to even), so they
// must be identical; QLinearAdd and QLinearGlobalAveragePool may differ by 1 LSB (docs/import.md).
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/runtime/session.js';
import { importOnnx } from '../../tools/import/index.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { QOP_MODELS, qopInputs, type QopOptions } from './qop-models.js';

const VARIANTS: [string, QopOptions][] = [
  ['uint8 activations, int8 weights', {}],
  ['int8 activations (QInt8, shifted by 128)', { signedActivations: true }],
  ['uint8 weights with zero points', { uint8Weights: true }],
  ['uint8 weights, w - zw outside int8 (int16 convs)', { uint8Weights: true, wideWeights: true }],
];

describe('QOperator ops imported, against onnxruntime-web', () => {
  for (const [model, build] of Object.entries(QOP_MODELS)) {
    for (const [variant, o] of VARIANTS) {
      it(`${model} (${variant})`, async () => {
        const bytes = writeOnnx(build({ ...o, seed: 7 }));
        const { edgeq, model: q, form } = importOnnx(bytes);
        expect(form).toBe('qoperator');
        // Wide weights: int16 (-w16) GEMM convs, or (a depthwise-only model) qu8-dwconv-c16, int16 anyway.
        if (o.wideWeights) expect(q.ops.some((op) => op.op === 'conv' && (op.packing.endsWith('-w16') || op.packing === 'qu8-dwconv-c16'))).toBe(true);
        const out = q.tensors[q.outputs[0]!.tensor]!;
        const lsb = out.dtype === 'float32' ? 1e-6 : out.scale;
        const ref = await ReferenceSession.create(bytes);
        const e = await Session.create(edgeq);
        let worst = 0, differing = 0, total = 0;
        for (const x of qopInputs(3, 8)) {
          const d = (await ref.run({ input: x })).outputs.output!.data;
          const y = await e.run(x);
          expect(y.length).toBe(d.length);
          for (let i = 0; i < y.length; i++) {
            const diff = out.dtype === 'float32' ? Math.abs(y[i]! - d[i]!) / Math.max(1, Math.abs(d[i]!)) : Math.abs(y[i]! - d[i]!) / lsb;
            worst = Math.max(worst, diff);
            if (diff > 0.5) differing++;
            total++;
          }
        }
        await ref.release(); e.release();
        const rounding = /QLinearAdd of two|GlobalAveragePool/.test(model);
        // A float32 output (QGemm without y_scale): the same int32 accumulator times one fp32 scale; relative 1e-6.
        if (out.dtype === 'float32') expect(worst, `relative error over ${total} outputs`).toBeLessThan(1e-6);
        else if (rounding) expect(Math.round(worst), `${differing}/${total} outputs differ`).toBeLessThanOrEqual(1);
        else expect({ worst: Math.round(worst), differing }, `over ${total} outputs`).toEqual({ worst: 0, differing: 0 });
      });
    }
  }
});
