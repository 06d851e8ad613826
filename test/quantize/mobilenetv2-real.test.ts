// Real-weights MobileNetV2: the model zoo's int8 file dequantized to fp32 (dequantizeModel), requantized
// by quantize() with its defaults on 32 of the seeded calibration images, and measured on 40 held-out
// images of ../shared/data/imagenet-sample: edgeq's Session against onnxruntime-web on the fp32
// model (top-1 within 2 images) and on edgeq's own QDQ export (top-1 agreement >= 39/40).
// bench/mobilenet-accuracy.ts measures the same on all 650 held-out images.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/index.js';
import { IMAGENET } from '../../src/image/spec.js';
import { folderInputs } from '../../tools/cli/inputs.js';
import { dequantizeModel } from '../../tools/import/dequantize.js';
import { readOnnx } from '../../tools/onnx/reader.js';
import { writeOnnx } from '../../tools/onnx/writer.js';
import { quantize } from '../../tools/quantize/api.js';
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

describe.runIf(HAS_DATA)('MobileNetV2 with the zoo\'s real weights, requantized by edgeq', () => {
  it('edgeq int8 agrees with its QDQ export in onnxruntime-web on >= 39/40 held-out images and is within 2 images of fp32 top-1', async () => {
    const fp32 = writeOnnx(dequantizeModel(readOnnx(new Uint8Array(readFileSync(ZOO)))));
    // The split bench/mobilenet-accuracy.ts uses (100 calibration images, seed 0); 32 of them calibrate here.
    const split = folderInputs(IMAGES, IMAGENET, 100, 0);
    const calibration = [...split.calibInputs()].slice(0, 32);
    const held = [...split.evalInputs(40)];
    const labels = split.eval.slice(0, 40).map((img) => img.label!);
    const q = await quantize(fp32, { calibration, preprocess: IMAGENET });

    const session = await Session.create(q.edgeq, { threads: 1 });
    const edgeqTop1: number[] = [];
    for (const x of held) edgeqTop1.push(argmax(await session.run(x)));
    session.release();
    const qdqTop1 = await ortTop1(q.qdq, held);
    const fp32Top1 = await ortTop1(fp32, held);

    const correct = (top: number[]) => top.filter((c, i) => c === labels[i]).length;
    const agree = edgeqTop1.filter((c, i) => c === qdqTop1[i]).length;
    console.log(`40 held-out images: top-1 fp32 ${correct(fp32Top1)}, edgeq ${correct(edgeqTop1)}, QDQ in onnxruntime-web ${correct(qdqTop1)}; edgeq = QDQ ${agree}/40`);
    expect(agree).toBeGreaterThanOrEqual(39);
    expect(Math.abs(correct(edgeqTop1) - correct(fp32Top1))).toBeLessThanOrEqual(2);
    // The fp32 model must be a working classifier for the comparison to mean anything.
    expect(correct(fp32Top1)).toBeGreaterThanOrEqual(28);
  }, 600_000);
});
