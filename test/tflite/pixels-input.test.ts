// Images into a TFLite import (Session.run / classify with decoded pixels): where the stored
// preprocessing passes pixels through to the uint8 input integers (tflitePreprocess: scale 1, mean
// the zero point, std 1 / scale), the session feeds the resized, cropped uint8 pixels
// (preprocessPixels) straight in, as TFLite is fed; any other preprocessing keeps the float path.
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/index.js';
import { preprocess, preprocessPixels } from '../../src/image/preprocess.js';
import type { RawImage } from '../../src/image/types.js';
import { buildTflite, tinyModel } from '../../tools/tflite/build.js';
import { importTflite, tflitePreprocess } from '../../tools/tflite/index.js';

/** A 3x3 RGB image of 0s and 1s: the spec's bilinear upsampling (resize 10, crop 9) lands on exact 0.5 values, which the paths round apart. */
const image: RawImage = { width: 3, height: 3, channels: 3, data: Uint8Array.from({ length: 27 }, (_, i) => i % 2) };

describe('image inputs of a TFLite import', () => {
  it('pass-through preprocessing: run(image) and classify(image) equal run(preprocessPixels(image)), bit for bit', async () => {
    const spec = tflitePreprocess({ shape: [1, 9, 9, 3], scale: 1 / 128, zeroPoint: 128 });
    const { edgeq } = importTflite(buildTflite(tinyModel()), { preprocess: spec });
    const s = await Session.create(edgeq, { threads: 1 });
    try {
      const px = preprocessPixels(image, spec).data as Uint8Array;
      // The two paths round the resized values differently at exact .5 (half up here, half to
      // even in the float path's quantization): this image has such values.
      const halfEven = Array.from(preprocess(image, spec), (x) => { const v = x * 128 + 128, r = Math.round(v); return v - Math.floor(v) === 0.5 && r % 2 !== 0 ? r - 1 : r; });
      const nchw = Array.from({ length: 243 }, (_, i) => px[(i % 81) * 3 + Math.floor(i / 81)]!);
      expect(nchw).not.toEqual(halfEven);
      const viaPixels = await s.run(px);
      expect(Array.from(await s.run(image))).toEqual(Array.from(viaPixels));
      // ...and here the outputs show it: the image did not take the float path.
      expect(Array.from(await s.run(preprocess(image, spec)))).not.toEqual(Array.from(viaPixels));
      const top = await s.classify(image, { topK: 3 });
      const [a, b] = await s.classify([image, image], { topK: 3 });
      expect(a).toEqual(top);
      expect(b).toEqual(top);
      const best = Array.from(viaPixels).reduce((k, v, i, all) => (v > all[k]! ? i : k), 0);
      expect(top[0]!.index).toBe(best);
    } finally {
      s.release();
    }
  });

  it('other preprocessing (std * scale != 1) keeps the float path: run(image) equals run(preprocess(image))', async () => {
    const spec = { ...tflitePreprocess({ shape: [1, 9, 9, 3], scale: 1 / 128, zeroPoint: 128 }), std: [100, 100, 100] as [number, number, number] };
    const { edgeq } = importTflite(buildTflite(tinyModel()), { preprocess: spec });
    const s = await Session.create(edgeq, { threads: 1 });
    try {
      expect(Array.from(await s.run(image))).toEqual(Array.from(await s.run(preprocess(image, spec))));
    } finally {
      s.release();
    }
  });
});
