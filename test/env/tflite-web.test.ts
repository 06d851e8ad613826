// TensorFlow Lite's own runtime (tfjs-tflite 0.0.1-alpha.10: TFLite in WASM with the XNNPACK
// delegate) against edgeq in one headless Chromium page, on the Coral uint8 MobileNets and a few
// images of ../shared, both fed the same uint8 pixels (bench/tflite-web/harness.ts; the full figures:
// bench/tflite-web.ts, docs/tflite.md). edgeq runs the file's own integers (importTflite: weights
// outside int8 as int16 ones), so the logits are compared with TFLite's on the file itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED, warnSkip } from '../helpers.js';
import { loadImageFolder } from '../../tools/image/folder-node.js';
import { compare, openTfliteWeb, prepareModel, preprocessImages, top1, type ImageResult, type PreparedModel, type TfliteWebPage } from '../../bench/tflite-web/harness.js';
import { BUILD_SKIP, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, HAS_BUILD, HAS_CHROMIUM, HAS_TFJS, TFJS_SKIP } from './fixture.js';

const CORAL = join(SHARED, 'models', 'tflite-coral');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');
const HAS_CORAL = existsSync(join(CORAL, 'mobilenet_v2_1.0_224_quant.tflite')) && existsSync(IMAGES);
warnSkip(HAS_CHROMIUM, CHROMIUM_SKIP);
warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(HAS_CORAL, `../shared/models/tflite-coral or the image sample is absent (${CORAL}); the tfjs-tflite comparison is skipped`);
warnSkip(HAS_TFJS, TFJS_SKIP);

const IMAGE_COUNT = 5;
/**
 * Worst |edgeq - TFLite| in logit LSB on the file: 0 on all 750 images (docs/tflite.md, "Arithmetic
 * against tfjs-tflite": the imported pools round as TFLite's integer average, the ADDs as XNNPACK's).
 */
const FILE_LSB: Record<string, number> = { 'mobilenet_v1_0.25_128_quant.tflite': 0, 'mobilenet_v2_1.0_224_quant.tflite': 0 };

describe.runIf(HAS_CHROMIUM && HAS_BUILD && HAS_CORAL && HAS_TFJS)('tfjs-tflite against edgeq in Chromium (Coral MobileNets)', () => {
  const images = HAS_CORAL ? loadImageFolder(IMAGES, { count: IMAGE_COUNT, seed: 11 }) : [];

  for (const file of ['mobilenet_v1_0.25_128_quant.tflite', 'mobilenet_v2_1.0_224_quant.tflite']) {
    describe(file, () => {
      let m: PreparedModel;
      let page: TfliteWebPage | undefined;
      let one: ImageResult[];

      beforeAll(async () => {
        m = prepareModel(new Uint8Array(readFileSync(join(CORAL, file))), file);
        const pixels = preprocessImages(images.map((i) => i.path), m.spec);
        page = await openTfliteWeb(m, pixels, [1, 2], { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
        one = await page.classify(0, images.length, 1);
      }, 180_000);

      afterAll(async () => { await page?.close(); });

      it('the page is cross-origin isolated; the inputs are the model\'s; the cut file gives the logits of the file\'s own softmax', () => {
        expect(page!.info.isolated).toBe(true);
        expect(page!.info.tfliteInput).toEqual({ shape: m.input.shape, type: 'uint8' });
        expect(page!.info.edgeqInput).toEqual([1, 3, m.input.shape[1], m.input.shape[2]]);
        expect(page!.info.edgeq.map((e) => e.threads)).toEqual([1, 2]);
        for (const r of one) {
          expect(r.tflite).toHaveLength(1001);
          // The softmax is monotone: its largest output sits at the largest logit.
          expect(r.softmax[top1(r.tflite).index]).toBe(Math.max(...r.softmax));
          expect(r.residual).toBeLessThan(1e-3); // edgeq's outputs are dequantized integers
        }
      });

      it(`edgeq's logits are TFLite's within ${FILE_LSB[file]} LSB, the same top-1 on every image`, () => {
        expect(m.wideValues).toBeGreaterThan(0); // the Coral files hold weights outside int8: the exact import keeps them
        const c = compare(one, images.map((i) => i.label));
        console.log(`[tflite-web] ${file}, ${images.length} images: worst ${c.worstLsb} LSB, identical vectors ${c.identical}, |diff| histogram ${c.histogram.slice(0, 3)}, top-1 correct tfjs-tflite ${c.tflite.top1} edgeq ${c.edgeq.top1}`);
        expect(c.worstLsb).toBeLessThanOrEqual(FILE_LSB[file]!);
        expect(c.agree).toBe(images.length);
        if (FILE_LSB[file] === 0) expect(c.identical).toBe(images.length);
      });

      it('2 threads give the same integers as 1, in both engines', async () => {
        const two = await page!.classify(0, images.length, 2);
        two.forEach((r, i) => {
          expect(Array.from(r.tflite)).toEqual(Array.from(one[i]!.tflite));
          expect(Array.from(r.softmax)).toEqual(Array.from(one[i]!.softmax));
          expect(Array.from(r.edgeq)).toEqual(Array.from(one[i]!.edgeq));
        });
      }, 120_000);
    });
  }
});
