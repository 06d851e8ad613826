// Round trip through the QDQ form: the quantizer's QDQ export (tools/quantize/export-qdq.ts: the
// .edgeq's integers as DequantizeLinear -> float op -> QuantizeLinear groups) imported back must give
// the same .edgeq integers: every conv's packed blob (int8 weights, int32 bias with the input zero
// point folded in, fp32 multipliers) byte for byte, every tensor's dtype, shape, scale and zero
// point, and activations that clamp the same. Checked on tiny-cnn (every op the quantizer maps),
// MobileNetV2-style depthwise blocks, SE / fire / Inception-style blocks (mul, concat, avgpool), and
// darknet-tiny (LeakyRelu; ../shared).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QModel } from '../../src/format/qmodel.js';
import { outputClamp } from '../../src/ops/activation.js';
import { opModule } from '../../src/ops/index.js';
import { Session } from '../../src/runtime/session.js';
import { importOnnx } from '../../tools/import/index.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { syntheticBatchNCHW } from '../../tools/synth/images.js';
import { UNIT } from '../../src/image/spec.js';
import { tinyCnn, tinyInputs } from '../quantize/tiny-cnn.js';
import { mobilenetBlocks, SIZE as MB_SIZE } from '../quantize/mobilenet-blocks.js';
import { inceptionModel, requantConcatModel, seModel, squeezeModel } from '../quantize/se-concat-models.js';
import { SHARED, warnSkip } from '../helpers.js';

const DARKNET = join(SHARED, 'models', 'darknet-tiny', 'model.onnx');
warnSkip(existsSync(DARKNET), `../shared/models/darknet-tiny is absent (${DARKNET}); its QDQ round trip is skipped`);

function expectSameIntegers(imported: QModel, original: QModel): void {
  expect(imported.ops.map((o) => `${o.op} ${o.name}`)).toEqual(original.ops.map((o) => `${o.op} ${o.name}`));
  const key = (m: QModel, i: number) => { const t = m.tensors[i]!; return { dtype: t.dtype, shape: t.shape, scale: t.scale, zeroPoint: t.zeroPoint }; };
  expect(key(imported, imported.input.tensor)).toEqual(key(original, original.input.tensor));
  expect(key(imported, imported.outputs[0]!.tensor)).toEqual(key(original, original.outputs[0]!.tensor));
  for (let k = 0; k < original.ops.length; k++) {
    const a = imported.ops[k]!, b = original.ops[k]!;
    const where = `op ${k} "${b.name}"`;
    if (a.op === 'conv' && b.op === 'conv') {
      expect(key(imported, a.input), where).toEqual(key(original, b.input));
      expect(key(imported, a.output), where).toEqual(key(original, b.output));
      expect([a.kernel, a.stride, a.pads, a.dilation, a.group, a.packing], where).toEqual([b.kernel, b.stride, b.pads, b.dilation, b.group, b.packing]);
      expect(Buffer.from(imported.blobs[a.weights]!).equals(Buffer.from(original.blobs[b.weights]!)), `${where}: packed weights, bias, multipliers`).toBe(true);
      const y = imported.tensors[a.output]!;
      expect(outputClamp(a.activation, y), where).toEqual(outputClamp(b.activation, original.tensors[b.output]!));
      expect(a.activation.kind === 'leakyrelu' ? a.activation.alpha : 1, where).toBe(b.activation.kind === 'leakyrelu' ? b.activation.alpha : 1);
    } else {
      const io = (m: QModel, o: typeof a) => [...opModule(o).reads(o), ...opModule(o).writes(o)].map((i) => key(m, i));
      expect(io(imported, a), where).toEqual(io(original, b));
      if (a.op === 'add' && b.op === 'add') expect(outputClamp(a.activation, imported.tensors[a.output]!), where).toEqual(outputClamp(b.activation, original.tensors[b.output]!));
    }
  }
}

/** Round-trips one model; returns the imported op kinds. */
async function roundTrip(onnx: Uint8Array, calibration: Float32Array[], inputs: Float32Array[]): Promise<string[]> {
  const q = await quantizeModel(onnx, { calibration, calibrationCount: calibration.length, fuseResidual: false, inputBits: 8 });
  const back = importOnnx(q.qdq);
  expect(back.form).toBe('qdq');
  expectSameIntegers(back.model, q.model);
  // And so the same outputs, bit for bit.
  const a = await Session.create(back.edgeq), b = await Session.create(q.edgeq);
  for (const x of inputs) expect(Buffer.from((await a.run(x)).buffer).equals(Buffer.from((await b.run(x)).buffer))).toBe(true);
  a.release(); b.release();
  return back.model.ops.map((o) => o.op);
}

describe('QDQ export imported back gives the same .edgeq integers', () => {
  it('tiny-cnn (Conv+BN+Relu, MaxPool, residual Add+Relu, grouped conv, GlobalAveragePool, Gemm)', async () => {
    await roundTrip(writeOnnx(tinyCnn({ seed: 3 })), tinyInputs(1, 12), tinyInputs(2, 3));
  }, 60_000);

  it('tiny-cnn with LeakyRelu, and as a feature trunk (float32 output)', async () => {
    await roundTrip(writeOnnx(tinyCnn({ seed: 4, leaky: true })), tinyInputs(1, 12), tinyInputs(2, 3));
    await roundTrip(writeOnnx(tinyCnn({ seed: 5, trunk: true })), tinyInputs(1, 12), tinyInputs(2, 3));
  }, 60_000);

  it('MobileNetV2-style blocks (depthwise, Relu6 as Clip)', async () => {
    await roundTrip(writeOnnx(mobilenetBlocks(5)), tinyInputs(40, 12, MB_SIZE), tinyInputs(41, 3, MB_SIZE));
  }, 60_000);

  it('SE block, SqueezeNet fire module, Inception-style block (Mul, Concat copied and requantized, AveragePool with ceil_mode)', async () => {
    expect(await roundTrip(writeOnnx(seModel(3)), tinyInputs(40, 12, 8), tinyInputs(41, 3, 8))).toContain('mul');
    expect(await roundTrip(writeOnnx(squeezeModel(3)), tinyInputs(40, 12, 8), tinyInputs(41, 3, 8))).toContain('concat');
    expect(await roundTrip(writeOnnx(inceptionModel(3)), tinyInputs(40, 12, 9), tinyInputs(41, 3, 9))).toEqual(expect.arrayContaining(['concat', 'avgpool']));
    expect(await roundTrip(writeOnnx(requantConcatModel(3)), tinyInputs(40, 12, 8), tinyInputs(41, 3, 8))).toContain('concat');
  }, 120_000);

  it.runIf(existsSync(DARKNET))('darknet-tiny (../shared)', async () => {
    const onnx = new Uint8Array(readFileSync(DARKNET));
    const images = (seed: number, n: number) => Array.from({ length: n }, (_, i) => syntheticBatchNCHW(seed + i, 1, UNIT));
    await roundTrip(onnx, images(10, 4), images(20, 2));
  }, 300_000);
});
