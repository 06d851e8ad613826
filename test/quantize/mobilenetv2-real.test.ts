// Real-weights MobileNetV2: the model zoo's int8 file dequantized to fp32 (dequantizeModel), requantized
// by edgeq's quantizer with its defaults (fused residual adds, 12-bit input) on 32 of the seeded
// calibration images, measured on 60 held-out images of ../shared/data/imagenet-sample against
// onnxruntime-web: the model's top-1 within 2 images of the fp32 model's, and edgeq against its QDQ
// export (the .edgeq's integers, fused residuals and the 12-bit input conv written exactly:
// docs/quantization.md, "The QDQ export") on every image's top-1, logits within float32 rounding.
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

/** Logits of every input, one Float32Array each. */
async function ortLogits(bytes: Uint8Array, inputs: Float32Array[]): Promise<Float32Array[]> {
  const s = await ReferenceSession.create(bytes);
  const out: Float32Array[] = [];
  for (const x of inputs) out.push((await s.run({ [s.inputNames[0]!]: { dims: [1, 3, 224, 224], data: x } })).outputs[s.outputNames[0]!]!.data);
  await s.release();
  return out;
}

async function edgeqLogits(bytes: Uint8Array, inputs: Float32Array[]): Promise<Float32Array[]> {
  const session = await Session.create(bytes, { threads: 1 });
  const out: Float32Array[] = [];
  for (const x of inputs) out.push(await session.run(x));
  session.release();
  return out;
}

const HELD = 60;

describe.runIf(HAS_DATA)('MobileNetV2 with the zoo\'s real weights, requantized by edgeq', () => {
  it(`default int8 top-1 within 2 images of fp32 on ${HELD} held-out images; edgeq = its QDQ export in onnxruntime-web on every image`, async () => {
    const fp32 = writeOnnx(dequantizeModel(readOnnx(new Uint8Array(readFileSync(ZOO)))));
    // The split bench/mobilenet-accuracy.ts uses (100 calibration images, seed 0); 32 of them calibrate here.
    const split = folderInputs(IMAGES, IMAGENET, 100, 0);
    const calibration = [...split.calibInputs()].slice(0, 32);
    const held = [...split.evalInputs(HELD)];
    const labels = split.eval.slice(0, HELD).map((img) => img.label!);
    // quantize()'s defaults: GPTQ, smoothing, fused residual adds, a 12-bit input.
    const calibrated = await calibrateModel(fp32, { calibration, calibrationCount: calibration.length });
    const q = quantizeCalibrated(fp32, calibrated, { calibrationCount: calibration.length, preprocess: IMAGENET });
    expect(q.model.ops.filter((o) => o.op === 'conv' && o.residual !== undefined).length).toBe(10);
    expect(q.model.tensors[q.model.input.tensor]!.dtype).toBe('uint12');

    const correct = (top: number[]) => top.filter((c, i) => c === labels[i]).length;
    const fp32Top1 = (await ortLogits(fp32, held)).map(argmax);
    const edgeq = await edgeqLogits(q.edgeq, held), ort = await ortLogits(q.qdq, held);
    const edgeqTop1 = edgeq.map(argmax), qdqTop1 = ort.map(argmax);
    const agree = edgeqTop1.filter((c, i) => c === qdqTop1[i]).length;
    // The export computes every uint8 / uint12 tensor as edgeq does; the float32 logits differ by the
    // head's float32 rounding only (measured under 3e-6 on the 650 held-out images).
    let maxDiff = 0, maxLogit = 0;
    edgeq.forEach((e, i) => e.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - ort[i]![k]!)); maxLogit = Math.max(maxLogit, Math.abs(v)); }));
    console.log(`${HELD} held-out images: top-1 fp32 ${correct(fp32Top1)}, edgeq ${correct(edgeqTop1)}, its QDQ export in onnxruntime-web ${correct(qdqTop1)}; same top-1 ${agree}/${HELD}, max |logit difference| ${maxDiff.toExponential(2)} (largest |logit| ${maxLogit.toFixed(1)})`);
    // The fp32 model must be a working classifier for the comparison to mean anything (about 80% here).
    expect(correct(fp32Top1)).toBeGreaterThanOrEqual(42);
    expect(Math.abs(correct(edgeqTop1) - correct(fp32Top1))).toBeLessThanOrEqual(2);
    expect(agree).toBe(HELD);
    expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxLogit);
  }, 600_000);
});
