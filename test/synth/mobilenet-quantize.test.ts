// The embedded MobileNets through the quantizer and the runtime: edgeq int8 against the QDQ export
// of the same integers in onnxruntime-web (the comparison `edgeq bench --model <name>` makes), on
// synthetic inputs (the standard model: uint8 input, residual adds unfused). MobileNetV3-Small needs HardSigmoid/Hardswish and the SE Mul in the quantizer;
// until they are supported its case skips, naming the operator the quantizer rejected.
import { describe, expect, it } from 'vitest';
import { IMAGENET } from 'edgeq/image';
import { EdgeqError } from '../../src/errors.js';
import { Session } from '../../src/runtime/session.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { syntheticBatchNCHW } from '../../tools/synth/images.js';
import { getEmbeddedMobileNet } from '../../tools/synth/mobilenet-cache-node.js';
import type { MobileNetName } from '../../tools/synth/mobilenet.js';

const CALIB = 8, INPUTS = 4;

for (const name of ['mobilenetv2', 'mobilenetv3-small'] as const satisfies readonly MobileNetName[]) {
  describe(`embedded ${name} quantized`, () => {
    it('quantizes; edgeq int8 gives the QDQ model\'s logits in onnxruntime-web (same integers) and runs its depthwise convs as dwconv', async (ctx) => {
      const { bytes } = await getEmbeddedMobileNet(name);
      const calibration = Array.from({ length: CALIB }, (_, i) => syntheticBatchNCHW(10 + i, 1));
      let q;
      try {
        q = await quantizeModel(bytes, { calibration, calibrationCount: CALIB, preprocess: IMAGENET, gptq: false, fuseResidual: false, inputBits: 8 });
      } catch (err) {
        if (err instanceof EdgeqError && err.code === 'UNSUPPORTED_OP') {
          ctx.skip(`${name}: the quantizer does not support it yet (${err.message})`);
          return;
        }
        throw err;
      }
      const session = await Session.create(q.edgeq, { threads: 1, profile: true });
      const ref = await ReferenceSession.create(q.qdq);
      try {
        for (let i = 0; i < INPUTS; i++) {
          const x = syntheticBatchNCHW(700 + i, 1);
          const got = await session.run(x);
          const want = (await ref.run({ [ref.inputNames[0]!]: x })).outputs[ref.outputNames[0]!]!.data;
          expect(got.length).toBe(1000);
          // Same integers; onnxruntime-web's QDQ arithmetic may round a requantization differently by one step.
          let maxAbs = 0, scale = 0, top = 0, topRef = 0;
          for (let k = 0; k < 1000; k++) {
            maxAbs = Math.max(maxAbs, Math.abs(got[k]! - want[k]!));
            scale = Math.max(scale, Math.abs(want[k]!));
            if (got[k]! > got[top]!) top = k;
            if (want[k]! > want[topRef]!) topRef = k;
          }
          expect(maxAbs, `input ${i}`).toBeLessThan(0.05 * scale);
          expect(top, `input ${i}`).toBe(topRef);
        }
        const depthwise = session.model.ops.filter((o) => o.op === 'conv' && o.group > 1 && o.group === o.inChannels);
        expect(depthwise.length).toBe(name === 'mobilenetv2' ? 17 : 11);
        expect(depthwise.every((o) => o.op === 'conv' && o.packing === 'qu8-dwconv-c16')).toBe(true);
      } finally {
        session.release();
        await ref.release();
      }
    });
  });
}
