import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';
import { quantizeModel } from '../../tools/quantize/index.js';
import { loadImageFolder, splitCalibration } from '../../src/image/folder-node.js';
import { readImage } from '../../src/image/decode-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { UNIT } from '../../src/image/spec.js';
import { Session } from '../../src/runtime/session.js';
import { ReferenceSession } from '../../src/reference/ort-runner.js';
import { argmax, cosine } from '../../tools/quantize/report.js';

warnSkip(HAS_SHARED, SHARED_SKIP);
describe.skipIf(!HAS_SHARED)('darknet-tiny through Session', () => {
  it('agrees with onnxruntime-web on the QDQ export', async () => {
    const bytes = new Uint8Array(readFileSync(join(SHARED, 'models/darknet-tiny/model.onnx')));
    const all = loadImageFolder(join(SHARED, 'data/imagenet-sample'));
    const { calib, eval: held } = splitCalibration(all, 20, 0);
    const x = calib.map((i) => preprocess(readImage(i.path), UNIT));
    const q = await quantizeModel(bytes, { calibration: x, calibrationCount: x.length, preprocess: UNIT });
    for (const backend of ['simd', 'scalar'] as const) {
      const s = await Session.create(q.edgeq, { backend });
      const ort = await ReferenceSession.create(q.qdq);
      let agree = 0; let cos = 0;
      const t0 = performance.now();
      for (const img of held.slice(0, 10)) {
        const input = preprocess(readImage(img.path), UNIT);
        const a = await s.run(input);
        const b = (await ort.run({ input })).outputs.logits.data;
        if (argmax(a) === argmax(b)) agree++;
        cos += cosine(a, b);
      }
      console.log(backend, 'agree', agree, 'cos', cos / 10, 'mem', await s.memoryBytes(), 'ms', (performance.now() - t0) / 10);
      expect(agree).toBeGreaterThanOrEqual(9);
      s.release();
      await ort.release();
    }
  });
});
