// dequantizeModel: the fp32 ONNX equivalent of a QOperator int8 model (dequantized weights and
// biases, float ops, the ReLU / ReLU6 a zero-point-0 output implies as Clip). Checked in
// onnxruntime-web against the int8 file itself: hand-built models with every output range as a Clip
// (cosine > 0.99 of the outputs: the int8 model rounds every intermediate tensor)
// and the zoo's MobileNetV2 (top-1 agreement on 20 images; the quantizer maps every node).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImage } from '../../src/image/decode-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { IMAGENET } from '../../src/image/spec.js';
import { loadImageFolder } from '../../tools/image/folder-node.js';
import { dequantizeModel } from '../../tools/import/dequantize.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { checkQuantizable } from '../../tools/quantize/check.js';
import { argmax, cosine } from '../../tools/quantize/report.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { Rng } from '../../tools/synth/random.js';
import { SHARED } from '../helpers.js';
import { C, QOP_MODELS, QOP_MUL_CONCAT_POOL_MODELS, SIZE } from './qop-models.js';

const ZOO = join(SHARED, 'models', 'mobilenetv2-zoo-int8', 'model.onnx');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');

describe('dequantize: the fp32 equivalent of a QOperator model', () => {
  const models = { ...QOP_MODELS, ...QOP_MUL_CONCAT_POOL_MODELS };
  for (const name of ['QLinearConv 3x3 + 1x1 (per-channel int8 weights, int32 bias)', 'QLinearAdd of two convs (com.microsoft)', 'MaxPool on uint8, QLinearGlobalAveragePool, Flatten, QLinearMatMul, QLinearAdd of a constant bias',
    ...Object.keys(QOP_MUL_CONCAT_POOL_MODELS)]) {
    it(name, async () => {
      const int8 = writeOnnx(models[name]!({ seed: 9 }));
      const fp32 = writeOnnx(dequantizeModel(readOnnx(int8), { clip: 'ranges' }));
      const a = await ReferenceSession.create(int8), b = await ReferenceSession.create(fp32);
      const rng = new Rng(4);
      for (let k = 0; k < 4; k++) {
        const x = Float32Array.from({ length: C * SIZE * SIZE }, () => rng.uniform(-2.5, 2.5));
        const ya = (await a.run({ input: x })).outputs.output!.data, yb = (await b.run({ input: x })).outputs.output!.data;
        expect(cosine(ya, yb)).toBeGreaterThan(0.99);
      }
      await a.release(); await b.release();
    });
  }

  it.runIf(existsSync(ZOO) && existsSync(IMAGES))('the zoo MobileNetV2 int8: fp32 agrees with int8 on top-1, and the quantizer maps every node', async () => {
    const int8 = new Uint8Array(readFileSync(ZOO));
    const model = dequantizeModel(readOnnx(int8));
    expect(checkQuantizable(model).ok).toBe(true);
    const fp32 = writeOnnx(model);
    const a = await ReferenceSession.create(int8), b = await ReferenceSession.create(fp32);
    let agree = 0;
    const images = loadImageFolder(IMAGES).slice(0, 20);
    for (const img of images) {
      const x = { dims: [1, 3, 224, 224], data: preprocess(readImage(img.path), IMAGENET) };
      if (argmax((await a.run({ input: x })).outputs.output!.data) === argmax((await b.run({ input: x })).outputs.output!.data)) agree++;
    }
    await a.release(); await b.release();
    expect(agree).toBeGreaterThanOrEqual(18);
  }, 300_000);
});
