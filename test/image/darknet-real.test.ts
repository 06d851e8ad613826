import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImage } from '../../src/image/decode-node.js';
import { loadImageFolder, splitCalibration } from '../../tools/image/folder-node.js';
import { preprocess } from '../../src/image/preprocess.js';
import { UNIT } from '../../src/image/spec.js';
import { ReferenceSession } from '../../tools/reference/ort-runner.js';
import { HAS_SHARED, SHARED, SHARED_SKIP, warnSkip } from '../helpers.js';

const DATA = join(SHARED, 'data', 'imagenet-sample');
warnSkip(HAS_SHARED, SHARED_SKIP);

describe.skipIf(!HAS_SHARED)('real images (../shared)', () => {
  it('lists the labelled sample and picks seeded subsets', () => {
    const all = loadImageFolder(DATA);
    expect(all.length).toBe(750);
    expect(all[0]).toMatchObject({ file: '0000_n01440764.jpg', label: 0, synset: 'n01440764', name: 'tench' });
    const a = loadImageFolder(DATA, { count: 20, seed: 7 });
    expect(a.map((x) => x.file)).toEqual(loadImageFolder(DATA, { count: 20, seed: 7 }).map((x) => x.file));
    expect(a.map((x) => x.file)).not.toEqual(loadImageFolder(DATA, { count: 20, seed: 8 }).map((x) => x.file));
    const { calib, eval: rest } = splitCalibration(all, 100, 0);
    expect(calib.length).toBe(100);
    expect(rest.length).toBe(650);
    expect(new Set([...calib, ...rest].map((x) => x.file)).size).toBe(750);
  });

  it('darknet-tiny fp32 with the UNIT spec gets the README-level top-1 on 20 images', async () => {
    // The README measures 495/750 (66%) top-1 with this exact preprocessing; the full 750 reproduce
    // 495/750 and 640/750 top-5 with this code (measured once, about 60 s).
    const session = await ReferenceSession.create(readFileSync(join(SHARED, 'models', 'darknet-tiny', 'model.onnx')));
    const images = loadImageFolder(DATA, { count: 20, seed: 1 });
    let top1 = 0;
    for (const img of images) {
      const x = preprocess(readImage(img.path), UNIT);
      const logits = (await session.run({ input: x })).outputs.logits!.data;
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
      if (best === img.label) top1++;
    }
    await session.release();
    console.log(`darknet-tiny top-1 on 20 seeded sample images: ${top1}/20`);
    expect(top1).toBeGreaterThanOrEqual(10);
  });
});
