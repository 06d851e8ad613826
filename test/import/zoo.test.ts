// The ONNX model zoo's MobileNetV2 int8 (QOperator, ../shared/models/mobilenetv2-zoo-int8) imported
// with its own integers, against onnxruntime-web running the file itself on the first 50 of the 750
// labelled ImageNet images (ImageNet preprocessing). The full run is bench/import-accuracy.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGENET } from '../../src/image/spec.js';
import { PACKING_DWCONV } from '../../src/kernels/index.js';
import { loadImageFolder } from '../../tools/image/folder-node.js';
import { compareWithReference } from '../../tools/import/compare.js';
import { importOnnx } from '../../tools/import/index.js';
import { SHARED, warnSkip } from '../helpers.js';

const ZOO = join(SHARED, 'models', 'mobilenetv2-zoo-int8', 'model.onnx');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');
const HAS_ZOO = existsSync(ZOO) && existsSync(IMAGES);
warnSkip(HAS_ZOO, `../shared/models/mobilenetv2-zoo-int8 or the image sample is absent (${ZOO}); the zoo import tests are skipped`);

describe.runIf(HAS_ZOO)('the model zoo MobileNetV2 int8 (QOperator) imported', () => {
  it('keeps the file\'s structure: 52 convs (17 depthwise), 10 residual adds + the bias add, one pool', () => {
    const { model, form } = importOnnx(new Uint8Array(readFileSync(ZOO)));
    expect(form).toBe('qoperator');
    const convs = model.ops.filter((o) => o.op === 'conv');
    // 52 QLinearConv + the QLinearMatMul head + the constant bias operand of the head's QLinearAdd.
    expect(convs.length).toBe(54);
    expect(convs.filter((o) => o.op === 'conv' && o.packing === PACKING_DWCONV && o.kernel[0] === 3).length).toBe(17);
    expect(model.ops.filter((o) => o.op === 'add').length).toBe(11);
    expect(model.ops.filter((o) => o.op === 'gap').length).toBe(1);
  });

  it('agrees with onnxruntime-web on 50 ImageNet images (top-1 agreement >= 49/50, counts within 1)', async () => {
    const bytes = new Uint8Array(readFileSync(ZOO));
    const { edgeq } = importOnnx(bytes, { preprocess: IMAGENET });
    const images = loadImageFolder(IMAGES).slice(0, 50);
    const r = await compareWithReference(bytes, edgeq, images, IMAGENET);
    console.log(`zoo MobileNetV2 int8, 50 images: edgeq top-1 ${r.edgeq.top1} top-5 ${r.edgeq.top5}; onnxruntime-web top-1 ${r.reference.top1} top-5 ${r.reference.top5}; agree ${r.agree}, identical logits ${r.identical}, worst ${r.worstLsb} LSB`);
    expect(r.images).toBe(50);
    expect(r.agree).toBeGreaterThanOrEqual(49);
    expect(Math.abs(r.edgeq.top1 - r.reference.top1)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.edgeq.top5 - r.reference.top5)).toBeLessThanOrEqual(1);
  }, 300_000);
});
