// darknet-tiny, the real ImageNet classifier in ../shared, quantized once on 20 seeded images:
// its QDQ export in onnxruntime-web stays close to fp32, and edgeq agrees with that QDQ export.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';
import { quantizeModel, type QuantizeModelResult } from '../../tools/quantize/index.js';
import { buildReport, formatReport } from '../../tools/quantize/report.js';
import { loadImageFolder, splitCalibration, type LabelledImage } from '../../tools/image/folder-node.js';
import { readImage } from '../../src/image/decode-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { UNIT } from '../../src/image/spec.js';
import { Session } from '../../src/runtime/session.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { argmax, cosine } from '../../tools/quantize/report.js';

warnSkip(HAS_SHARED, SHARED_SKIP);
describe.skipIf(!HAS_SHARED)('darknet-tiny', () => {
  let bytes: Uint8Array;
  let q: QuantizeModelResult;
  let held: LabelledImage[];
  beforeAll(async () => {
    bytes = new Uint8Array(readFileSync(join(SHARED, 'models/darknet-tiny/model.onnx')));
    const split = splitCalibration(loadImageFolder(join(SHARED, 'data/imagenet-sample')), 20, 0);
    held = split.eval.slice(0, 10);
    const x = split.calib.map((i) => preprocess(readImage(i.path), UNIT));
    q = await quantizeModel(bytes, { calibration: x, calibrationCount: x.length, preprocess: UNIT });
  });

  it('the QDQ export runs in onnxruntime-web close to fp32', async () => {
    const r = await buildReport(bytes, q.qdq, q.graph, q, held.map((i) => preprocess(readImage(i.path), UNIT)));
    console.log(formatReport(r));
    expect(r.model.meanCosine).toBeGreaterThan(0.98);
  });

  it('edgeq (SIMD and scalar builds) agrees with onnxruntime-web on the QDQ export', async () => {
    for (const backend of ['simd', 'scalar'] as const) {
      const s = await Session.create(q.edgeq, { backend });
      const ort = await ReferenceSession.create(q.qdq);
      let agree = 0; let cos = 0;
      const t0 = performance.now();
      for (const img of held) {
        const input = preprocess(readImage(img.path), UNIT);
        const a = await s.run(input);
        const b = (await ort.run({ input })).outputs.logits.data;
        if (argmax(a) === argmax(b)) agree++;
        cos += cosine(a, b);
      }
      console.log(backend, 'agree', agree, 'cos', cos / held.length, 'mem', await s.memoryBytes(), 'ms', (performance.now() - t0) / held.length);
      expect(agree).toBeGreaterThanOrEqual(9);
      s.release();
      await ort.release();
    }
  });
});
