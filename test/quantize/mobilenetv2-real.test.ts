// Real-weights MobileNetV2: the model zoo's int8 file dequantized to fp32 (dequantizeModel), requantized
// by edgeq's quantizer on 32 of the seeded calibration images, measured on 40 held-out images of
// ../shared/data/imagenet-sample against onnxruntime-web: the default model's top-1 within 2 images
// of the fp32 model's, and edgeq against its QDQ export on top-1 (>= 39/40) for the same calibration
// quantized with a uint8 input and unfused residual adds, whose QDQ export is the very integers of the
// .edgeq and runs on onnxruntime-web's integer path (the default's 12-bit input and fused adds run
// partly in fp32 there: docs/quantization.md, "MobileNetV2 with real weights").
// bench/mobilenet-accuracy.ts measures all of it on the 650 held-out images.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/index.js';
import { IMAGENET } from '../../src/image/spec.js';
import { folderInputs } from '../../tools/cli/inputs.js';
import { dequantizeModel } from '../../tools/import/dequantize.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { calibrateModel, quantizeCalibrated } from '../../tools/quantize/pipeline.js';
import { argmax } from '../../tools/quantize/report.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { SHARED, warnSkip } from '../helpers.js';

const ZOO = join(SHARED, 'models', 'mobilenetv2-zoo-int8', 'model.onnx');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');
const HAS_DATA = existsSync(ZOO) && existsSync(IMAGES);
warnSkip(HAS_DATA, `../shared is absent (${ZOO} or ${IMAGES} missing): the real-weights MobileNetV2 test is skipped`);

async function ortTop1(bytes: Uint8Array, inputs: Float32Array[]): Promise<number[]> {
  const s = await ReferenceSession.create(bytes);
  const out: number[] = [];
  for (const x of inputs) out.push(argmax((await s.run({ [s.inputNames[0]!]: { dims: [1, 3, 224, 224], data: x } })).outputs[s.outputNames[0]!]!.data));
  await s.release();
  return out;
}

async function edgeqTop1(bytes: Uint8Array, inputs: Float32Array[]): Promise<number[]> {
  const session = await Session.create(bytes, { threads: 1 });
  const out: number[] = [];
  for (const x of inputs) out.push(argmax(await session.run(x)));
  session.release();
  return out;
}

describe.runIf(HAS_DATA)('MobileNetV2 with the zoo\'s real weights, requantized by edgeq', () => {
  it('default int8 top-1 within 2 images of fp32 on 40 held-out images; edgeq = its QDQ export in onnxruntime-web on >= 39/40', async () => {
    const fp32 = writeOnnx(dequantizeModel(readOnnx(new Uint8Array(readFileSync(ZOO)))));
    // The split bench/mobilenet-accuracy.ts uses (100 calibration images, seed 0); 32 of them calibrate here.
    const split = folderInputs(IMAGES, IMAGENET, 100, 0);
    const calibration = [...split.calibInputs()].slice(0, 32);
    const held = [...split.evalInputs(40)];
    const labels = split.eval.slice(0, 40).map((img) => img.label!);
    // One calibration (quantize()'s defaults: GPTQ, smoothing), quantized two ways.
    const calibrated = await calibrateModel(fp32, { calibration, calibrationCount: calibration.length });
    const base = { calibrationCount: calibration.length, preprocess: IMAGENET };
    const byDefault = quantizeCalibrated(fp32, calibrated, base);
    const integer = quantizeCalibrated(fp32, calibrated, { ...base, inputBits: 8, fuseResidual: false });

    const correct = (top: number[]) => top.filter((c, i) => c === labels[i]).length;
    const fp32Top1 = await ortTop1(fp32, held);
    const defaultTop1 = await edgeqTop1(byDefault.edgeq, held);
    const integerTop1 = await edgeqTop1(integer.edgeq, held);
    const qdqTop1 = await ortTop1(integer.qdq, held);
    const agree = integerTop1.filter((c, i) => c === qdqTop1[i]).length;
    console.log(`40 held-out images: top-1 fp32 ${correct(fp32Top1)}, edgeq default ${correct(defaultTop1)}; uint8 input, unfused: edgeq ${correct(integerTop1)}, QDQ in onnxruntime-web ${correct(qdqTop1)}, same top-1 ${agree}/40`);
    // The fp32 model must be a working classifier for the comparison to mean anything (about 80% here).
    expect(correct(fp32Top1)).toBeGreaterThanOrEqual(28);
    expect(Math.abs(correct(defaultTop1) - correct(fp32Top1))).toBeLessThanOrEqual(2);
    expect(agree).toBeGreaterThanOrEqual(39);
  }, 600_000);
});
