import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { buildReport, formatReport } from '../../tools/quantize/report.js';
import { loadImageFolder, splitCalibration } from '../../src/image/folder-node.js';
import { readImage } from '../../src/image/decode-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { UNIT } from '../../src/image/spec.js';

warnSkip(HAS_SHARED, SHARED_SKIP);
describe.skipIf(!HAS_SHARED)('darknet-tiny QDQ', () => {
  it('quantizes and the QDQ export runs in onnxruntime-web close to fp32', async () => {
    const bytes = new Uint8Array(readFileSync(join(SHARED, 'models/darknet-tiny/model.onnx')));
    const all = loadImageFolder(join(SHARED, 'data/imagenet-sample'));
    const { calib, eval: held } = splitCalibration(all, 20, 0);
    const x = calib.map((i) => preprocess(readImage(i.path), UNIT));
    const q = await quantizeModel(bytes, { calibration: x, calibrationCount: x.length, preprocess: UNIT });
    const r = await buildReport(bytes, q.qdq, q.graph, q.model, held.slice(0, 10).map((i) => preprocess(readImage(i.path), UNIT)));
    console.log(formatReport(r));
    expect(r.model.meanCosine).toBeGreaterThan(0.98);
  });
});
