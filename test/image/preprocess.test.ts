import { describe, expect, it } from 'vitest';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EdgeqError } from '../../src/errors.js';
import { IMAGENET, UNIT, type PreprocessSpec } from '../../src/image/spec.js';
import { preprocess, preprocessBatch, preprocessPixels, resizeAndCrop } from '../../src/image/preprocess.js';
import { decodeImage, sniffImageFormat } from '../../src/image/decode-node.js';
import type { RawImage } from '../../src/image/types.js';

/** An RGB image whose pixel (x, y) is (x, y, 100 + c0) so crops can be read back. */
function coordImage(w: number, h: number, extra = 100): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, extra], (y * w + x) * 3);
  return { width: w, height: h, channels: 3, data };
}

const raw = (spec: Partial<PreprocessSpec>): PreprocessSpec => ({ ...UNIT, mean: [0, 0, 0], std: [1, 1, 1], scale: 1, ...spec });

describe('crop geometry', () => {
  it('square-crop takes the largest centred square at floor((W - S) / 2)', () => {
    // 6x3: S = 3, x offset floor(3 / 2) = 1, so columns 1..3.
    const out = resizeAndCrop(coordImage(6, 3), raw({ resize: 3, crop: 3 }));
    expect(out.width).toBe(3);
    expect([0, 1, 2].map((x) => out.data[x * 3])).toEqual([1, 2, 3]);
    expect([0, 1, 2].map((y) => out.data[y * 9 + 1])).toEqual([0, 1, 2]);
    // 3x8 (portrait): y offset floor(5 / 2) = 2.
    const tall = resizeAndCrop(coordImage(3, 8), raw({ resize: 3, crop: 3 }));
    expect([0, 1, 2].map((y) => tall.data[y * 9 + 1])).toEqual([2, 3, 4]);
  });

  it('short-side mode centre-crops at floor((size - crop) / 2) after the resize', () => {
    // 9x5 with resize 5 (no resize) and crop 4: x offset floor(5/2) = 2, y offset floor(1/2) = 0.
    const out = resizeAndCrop(coordImage(9, 5), raw({ resizeMode: 'short-side', resize: 5, crop: 4, interpolation: 'antialias' }));
    expect(out.width).toBe(4);
    expect(out.data[0]).toBe(2);
    expect(out.data[1]).toBe(0);
  });

  it('short-side mode resizes the short side and keeps the aspect (torchvision sizes)', () => {
    // 8x4 -> short side 2 -> 4x2 (x taps 3/7,3/7,1/7 style on a 2x shrink), crop 2 at x offset 1.
    const img = coordImage(8, 4);
    const out = resizeAndCrop(img, raw({ resizeMode: 'short-side', resize: 2, crop: 2, interpolation: 'antialias' }));
    expect(out.width).toBe(2);
    expect(out.height).toBe(2);
  });
});

describe('normalization and layout', () => {
  it('applies /scale, (x - mean) / std per channel and writes NCHW', () => {
    const img: RawImage = { width: 1, height: 2, channels: 3, data: new Uint8Array([255, 0, 51, 0, 255, 102]) };
    const spec: PreprocessSpec = { ...UNIT, resize: 1, crop: 1, resizeMode: 'short-side', mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] };
    // Short-side resize of 1x2 to short side 1 -> 1x2 (no change), crop 1 at y offset floor(1/2) = 0: pixel (255, 0, 51).
    const x = preprocess(img, spec);
    expect(x.length).toBe(3);
    expect(x[0]).toBeCloseTo((1 - 0.5) / 0.5, 6);
    expect(x[1]).toBeCloseTo((0 - 0.25) / 0.25, 6);
    expect(x[2]).toBeCloseTo((0.2 - 0) / 2, 6);
  });

  it('uses the ImageNet mean/std of the IMAGENET preset', () => {
    const img: RawImage = { width: 256, height: 256, channels: 3, data: new Uint8Array(256 * 256 * 3).fill(128) };
    const x = preprocess(img, IMAGENET);
    expect(x.length).toBe(3 * 224 * 224);
    expect(x[0]).toBeCloseTo((128 / 255 - 0.485) / 0.229, 5);
    expect(x[224 * 224]).toBeCloseTo((128 / 255 - 0.456) / 0.224, 5);
    expect(x[2 * 224 * 224 + 5]).toBeCloseTo((128 / 255 - 0.406) / 0.225, 5);
  });

  it('orders channels as the spec says (bgr swaps planes)', () => {
    const img: RawImage = { width: 1, height: 1, channels: 3, data: new Uint8Array([10, 20, 30]) };
    const rgb = preprocess(img, raw({ resize: 1, crop: 1 }));
    const bgr = preprocess(img, raw({ resize: 1, crop: 1, channels: 'bgr' }));
    expect([...rgb]).toEqual([10, 20, 30]);
    expect([...bgr]).toEqual([30, 20, 10]);
    expect([...preprocessPixels(img, raw({ resize: 1, crop: 1, channels: 'bgr' })).data]).toEqual([30, 20, 10]);
  });

  it('accepts ImageData-like RGBA and greyscale input', () => {
    const rgba = { width: 2, height: 2, data: new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 0, 10, 11, 12, 9]) };
    const x = preprocess(rgba, raw({ resize: 2, crop: 2 }));
    expect([...x]).toEqual([1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12]);
    const g: RawImage = { width: 1, height: 1, channels: 1, data: new Uint8Array([77]) };
    expect([...preprocess(g, raw({ resize: 1, crop: 1 }))]).toEqual([77, 77, 77]);
  });

  it('returns the resized pixels as uint8 NHWC and batches as [N,3,H,W]', () => {
    const img = coordImage(6, 3);
    const px = preprocessPixels(img, raw({ resize: 3, crop: 3 }));
    expect(px.channels).toBe(3);
    expect([...px.data.subarray(0, 3)]).toEqual([1, 0, 100]);
    const b = preprocessBatch([img, coordImage(3, 6, 7)], raw({ resize: 3, crop: 3 }));
    expect(b.length).toBe(2 * 27);
    expect(b[27 + 18]).toBe(7); // second image, channel 2
  });

  it('rejects bad images and specs with EdgeqError', () => {
    expect(() => preprocess({ width: 2, height: 2, data: new Uint8Array(5) }, UNIT)).toThrow(EdgeqError);
    expect(() => preprocess(coordImage(4, 4), { ...UNIT, crop: 300 })).toThrow(/invalid preprocessing spec/);
  });
});

describe('decoding (Node adapter)', () => {
  it('decodes PNG to RGBA and JPEG to RGB', () => {
    const png = new PNG({ width: 3, height: 2 });
    for (let i = 0; i < 6; i++) png.data.set([i * 10, i * 20, i * 30, 255], i * 4);
    const pngBytes = PNG.sync.write(png);
    expect(sniffImageFormat(pngBytes)).toBe('png');
    const p = decodeImage(pngBytes);
    expect([p.width, p.height, p.channels]).toEqual([3, 2, 4]);
    expect([...p.data.subarray(4, 8)]).toEqual([10, 20, 30, 255]);

    const rgba = Buffer.alloc(16 * 16 * 4, 128);
    const jpg = jpeg.encode({ width: 16, height: 16, data: rgba }, 95).data;
    expect(sniffImageFormat(jpg)).toBe('jpeg');
    const j = decodeImage(jpg);
    expect([j.width, j.height, j.channels]).toEqual([16, 16, 3]);
    expect(Math.abs(j.data[0]! - 128)).toBeLessThanOrEqual(2);
  });

  it('rejects other bytes with BAD_IMAGE', () => {
    try {
      decodeImage(new Uint8Array([1, 2, 3, 4]));
      expect.unreachable();
    } catch (err) {
      expect((err as EdgeqError).code).toBe('BAD_IMAGE');
    }
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0, 0, 0]))).toThrow(EdgeqError);
  });
});
