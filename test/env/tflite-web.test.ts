// TensorFlow Lite's own runtime (tfjs-tflite 0.0.1-alpha.10: TFLite in WASM with the XNNPACK
// delegate) against edgeq in one headless Chromium page, on the Coral uint8 MobileNets and a few
// images of ../shared, both fed the same uint8 pixels (bench/tflite-web/harness.ts; the full figures:
// bench/tflite-web.ts, docs/tflite.md). The Coral files only import with saturateWeights (63 / 68
// weights clamped), so edgeq is compared twice: with TFLite running the same clamped weights
// (saturateTflite: the arithmetic alone; the convolutions are bit-identical to XNNPACK's, the ADD and
// the global average pool round differently by 1 LSB now and then) and with the original file (the
// clamp's effect, bounded by the 48 LSB docs/tflite.md measured against the reference interpreter).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED, warnSkip } from '../helpers.js';
import { loadImageFolder } from '../../tools/image/folder-node.js';
import { compare, openTfliteWeb, prepareModel, preprocessImages, top1, type ImageResult, type PreparedModel, type TfliteWebPage } from '../../bench/tflite-web/harness.js';
import { BUILD_SKIP, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP, HAS_BUILD, HAS_CHROMIUM } from './fixture.js';

const CORAL = join(SHARED, 'models', 'tflite-coral');
const IMAGES = join(SHARED, 'data', 'imagenet-sample');
const HAS_CORAL = existsSync(join(CORAL, 'mobilenet_v2_1.0_224_quant.tflite')) && existsSync(IMAGES);
const HAS_TFJS = ((): boolean => {
  try { createRequire(join(REPO_ROOT, 'bench', 'package.json')).resolve('@tensorflow/tfjs-tflite/package.json'); return true; } catch { return false; }
})();
warnSkip(HAS_CHROMIUM, CHROMIUM_SKIP);
warnSkip(HAS_BUILD, BUILD_SKIP);
warnSkip(HAS_CORAL, `../shared/models/tflite-coral or the image sample is absent (${CORAL}); the tfjs-tflite comparison is skipped`);
warnSkip(HAS_TFJS, '@tensorflow/tfjs-tflite is not installed (the bench workspace\'s devDependency: npm install); the tfjs-tflite comparison is skipped');

const IMAGE_COUNT = 5;
/** Worst |edgeq - TFLite| in logit LSB with the same clamped weights, measured on all 750 images (docs/tflite.md): v1 1, v2 4. */
const SAME_WEIGHTS_LSB: Record<string, number> = { 'mobilenet_v1_0.25_128_quant.tflite': 1, 'mobilenet_v2_1.0_224_quant.tflite': 4 };
/** Against the original file: docs/tflite.md's worst, edgeq (clamped) against the reference interpreter on the exact file (100 images). */
const CLAMP_EFFECT_LSB = 48;

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

      it(`with the same clamped weights, edgeq's logits are TFLite's within ${SAME_WEIGHTS_LSB[file]} LSB, the same top-1 on every image`, () => {
        expect(m.exact).toBe(false); // the Coral files import only with saturateWeights; an exact import would compare with the file itself
        const c = compare(one, images.map((i) => i.label)).clamped!;
        console.log(`[tflite-web] ${file}, ${images.length} images, same clamped weights: worst ${c.worstLsb} LSB, identical vectors ${c.identical}, |diff| histogram ${c.histogram.slice(0, 3)}`);
        expect(c.worstLsb).toBeLessThanOrEqual(SAME_WEIGHTS_LSB[file]!);
        expect(c.agree).toBe(images.length);
        for (const r of one) expect(top1(r.edgeq).index).toBe(top1(r.clamped!).index);
      });

      it(`against the original file, the clamp's effect stays within ${CLAMP_EFFECT_LSB} LSB`, () => {
        const c = compare(one, images.map((i) => i.label));
        console.log(`[tflite-web] ${file}, ${images.length} images, original file: worst ${c.worstLsb} LSB, top-1 agreement ${c.agree}/${c.images}, top-1 correct tfjs-tflite ${c.tflite.top1} edgeq ${c.edgeq.top1}`);
        expect(c.worstLsb).toBeLessThanOrEqual(CLAMP_EFFECT_LSB);
        expect(c.worstLsb).toBeGreaterThan(SAME_WEIGHTS_LSB[file]!); // the clamp does change the logits (else this test measures nothing)
      });

      it('2 threads give the same integers as 1, in both engines', async () => {
        const two = await page!.classify(0, images.length, 2);
        two.forEach((r, i) => {
          expect(Array.from(r.tflite)).toEqual(Array.from(one[i]!.tflite));
          expect(Array.from(r.clamped!)).toEqual(Array.from(one[i]!.clamped!));
          expect(Array.from(r.softmax)).toEqual(Array.from(one[i]!.softmax));
          expect(Array.from(r.edgeq)).toEqual(Array.from(one[i]!.edgeq));
        });
      }, 120_000);
    });
  }
});
