// The image path on hostile and unusual files: every input decodes to the right pixels or is
// rejected with EdgeqError('BAD_IMAGE'); nothing else escapes. Fixtures are generated in code.
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { EdgeqError } from '../../src/errors.js';
import { decodeImage, MAX_IMAGE_PIXELS } from '../../src/image/decode-node.js';
import { applyOrientation, jpegOrientation, pngOrientation, type Orientation } from '../../src/image/exif.js';
import { preprocess } from '../../src/image/preprocess.js';
import { IMAGENET, UNIT } from '../../src/image/spec.js';
import type { RawImage } from '../../src/image/types.js';
import { Rng } from '../../tools/synth/random.js';
import { encodeBlockJpeg, encodePng, exifTiff, withJpegExif } from './image-fixtures.js';

function badImage(fn: () => unknown): EdgeqError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected a BAD_IMAGE error').toBeInstanceOf(EdgeqError);
  expect((err as EdgeqError).code).toBe('BAD_IMAGE');
  return err as EdgeqError;
}

const pixel = (img: RawImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x + 1) * img.channels));

/** A JPEG made with jpeg-js of a smooth RGB pattern. */
function rgbJpeg(width: number, height: number, quality = 90): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = 4 * (y * width + x);
    data[i] = (x * 255) / Math.max(1, width - 1); data[i + 1] = (y * 255) / Math.max(1, height - 1); data[i + 2] = 128; data[i + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ data, width, height }, quality).data);
}

/** A grey 16x24 JPEG (2x3 flat blocks) with distinct corners: TL 30, TR 90, BL 150, BR 210. */
function cornerJpeg(): Uint8Array {
  const v = [[30, 90], [60, 60], [150, 210]];
  return encodeBlockJpeg({ blocksX: 2, blocksY: 3, components: 1, block: (bx, by) => [v[by]![bx]!] });
}

describe('JPEG', () => {
  it('decodes baseline RGB, and 1x1 and 10000x10 images', () => {
    for (const [w, h] of [[1, 1], [10000, 10], [10, 10000], [37, 23]]) {
      const img = decodeImage(rgbJpeg(w, h), `${w}x${h}.jpg`);
      expect([img.width, img.height, img.channels, img.data.length]).toEqual([w, h, 3, w * h * 3]);
      expect(preprocess(img, UNIT).length).toBe(3 * 224 * 224);
    }
  });

  // The 'short-side' presets (imagenet) resize only the centre band an extreme strip's crop needs
  // (the full resize of 10000x10 would be 256000x256 floats).
  it('takes 10000x10 and 1x5000 images through the short-side (imagenet) preset in bounded time', () => {
    for (const [w, h] of [[10000, 10], [1, 5000]]) {
      const img = decodeImage(rgbJpeg(w, h), `${w}x${h}.jpg`);
      const t0 = performance.now();
      const x = preprocess(img, IMAGENET);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(x.length).toBe(3 * 224 * 224);
      expect(x.every(Number.isFinite)).toBe(true);
    }
  });

  it('decodes flat-block grayscale exactly (as RGB)', () => {
    const img = decodeImage(cornerJpeg());
    expect([img.width, img.height, img.channels]).toEqual([16, 24, 3]);
    expect(pixel(img, 0, 0)).toEqual([30, 30, 30]);
    expect(pixel(img, 15, 23)).toEqual([210, 210, 210]);
  });

  it('decodes an Adobe CMYK JPEG to RGB, and rejects 4 components without the Adobe marker', () => {
    // Adobe CMYK is stored inverted: with K stored as 255 (no black), the RGB is the stored C, M, Y.
    const cmyk = encodeBlockJpeg({ blocksX: 2, blocksY: 1, components: 4, adobe: 0, block: (bx) => (bx === 0 ? [200, 40, 90, 255] : [10, 250, 128, 255]) });
    const img = decodeImage(cmyk, 'cmyk.jpg');
    expect([img.width, img.height, img.channels]).toEqual([16, 8, 3]);
    expect(pixel(img, 0, 0)).toEqual([200, 40, 90]);
    expect(pixel(img, 12, 4)).toEqual([10, 250, 128]);
    // Stored K = 127 darkens every channel.
    const dark = decodeImage(encodeBlockJpeg({ blocksX: 1, blocksY: 1, components: 4, adobe: 0, block: () => [255, 255, 255, 127] }));
    expect(pixel(dark, 0, 0).every((v) => Math.abs(v - 127) <= 1)).toBe(true);
    const plain = encodeBlockJpeg({ blocksX: 1, blocksY: 1, components: 4, block: () => [1, 2, 3, 4] });
    expect(badImage(() => decodeImage(plain, 'cmyk-noadobe.jpg')).message).toMatch(/cmyk-noadobe\.jpg: cannot decode jpeg: .*4 components/);
  });

  it('applies the EXIF orientation (all 8, both byte orders), and ignores it on request', () => {
    // Where the stored top-left (30) and top-right (90) corners are displayed, per orientation.
    const where: Record<Orientation, [string, string]> = {
      1: ['TL', 'TR'], 2: ['TR', 'TL'], 3: ['BR', 'BL'], 4: ['BL', 'BR'], 5: ['TL', 'BL'], 6: ['TR', 'BR'], 7: ['BR', 'TR'], 8: ['BL', 'TL'],
    };
    const base = cornerJpeg();
    for (const big of [false, true]) {
      for (let o = 1 as Orientation; o <= 8; o = (o + 1) as Orientation) {
        const bytes = withJpegExif(base, exifTiff(o, big));
        expect(jpegOrientation(bytes)).toBe(o);
        const img = decodeImage(bytes, `o${o}.jpg`);
        expect([img.width, img.height]).toEqual(o >= 5 ? [24, 16] : [16, 24]);
        const corners: Record<string, number> = {
          TL: pixel(img, 0, 0)[0]!, TR: pixel(img, img.width - 1, 0)[0]!, BL: pixel(img, 0, img.height - 1)[0]!, BR: pixel(img, img.width - 1, img.height - 1)[0]!,
        };
        expect(corners[where[o][0]], `orientation ${o}: stored top-left`).toBe(30);
        expect(corners[where[o][1]], `orientation ${o}: stored top-right`).toBe(90);
        expect(decodeImage(bytes, 'x', { orientation: 'ignore' }).width).toBe(16);
      }
    }
  });

  it('treats damaged or hostile EXIF as no orientation', () => {
    const base = cornerJpeg();
    const cases = [
      exifTiff(9), exifTiff(0), exifTiff(65535), new Uint8Array(3), new Uint8Array([0x49, 0x49, 42, 0, 0xff, 0xff, 0xff, 0xff]),
      (() => { const t = exifTiff(6); t[12] = 4; return t; })(), // wrong type
    ];
    for (const tiff of cases) {
      const bytes = withJpegExif(base, tiff);
      expect(jpegOrientation(bytes)).toBe(1);
      expect(decodeImage(bytes).width).toBe(16);
    }
    // An entry count past the block's end: the entries that are there are read, nothing past the end.
    const many = exifTiff(6); many[8] = 0xff; many[9] = 0xff;
    expect(jpegOrientation(withJpegExif(base, many))).toBe(6);
    const manyMissing = exifTiff(6); manyMissing[8] = 0xff; manyMissing[9] = 0xff; manyMissing[10] = 0x13;
    expect(jpegOrientation(withJpegExif(base, manyMissing))).toBe(1);
    // An APP1 length running past the end of the file.
    const cut = withJpegExif(base, exifTiff(6)).subarray(0, 20);
    expect(jpegOrientation(cut)).toBe(1);
  });

  it('rejects truncated JPEGs or decodes what is there; never anything but BAD_IMAGE', () => {
    const bytes = rgbJpeg(64, 48);
    for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
      try {
        const img = decodeImage(bytes.subarray(0, cut), `cut${cut}.jpg`);
        expect(img.data.length).toBe(img.width * img.height * 3);
      } catch (e) {
        expect(e, `cut at ${cut}: ${String(e)}`).toBeInstanceOf(EdgeqError);
        expect((e as EdgeqError).code).toBe('BAD_IMAGE');
      }
    }
  });

  it('rejects a JPEG declaring more pixels than the limit before decoding', () => {
    const bytes = rgbJpeg(16, 16);
    // SOF0 height/width fields set to 60000x60000 (3.6 gigapixels).
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    bytes[sof + 5] = 0xea; bytes[sof + 6] = 0x60; bytes[sof + 7] = 0xea; bytes[sof + 8] = 0x60;
    expect(badImage(() => decodeImage(bytes)).message).toMatch(/maxResolution|limit/);
  });
});

describe('PNG', () => {
  const W = 5, H = 3;
  const idx = (x: number, y: number) => y * W + x;

  it('decodes grey, grey+alpha, RGB, RGBA, 8- and 16-bit, to 8-bit RGBA', () => {
    const grey = encodePng({ width: W, height: H, colorType: 0, bitDepth: 8, samples: Array.from({ length: W * H }, (_, i) => i * 10) });
    let img = decodeImage(grey, 'grey.png');
    expect([img.width, img.height, img.channels]).toEqual([W, H, 4]);
    expect(pixel(img, 2, 1)).toEqual([70, 70, 70, 255]);
    const grey16 = encodePng({ width: W, height: H, colorType: 0, bitDepth: 16, samples: Array.from({ length: W * H }, (_, i) => i * 4369) });
    img = decodeImage(grey16, 'grey16.png');
    expect(pixel(img, 2, 1)).toEqual([119, 119, 119, 255]); // 7 * 4369 = 30583 -> 30583 * 255 / 65535 = 119
    const ga = encodePng({ width: W, height: H, colorType: 4, bitDepth: 8, samples: Array.from({ length: W * H * 2 }, (_, i) => (i % 2 ? 100 : i)) });
    expect(pixel(decodeImage(ga), 1, 0)).toEqual([2, 2, 2, 100]);
    const rgb16 = encodePng({ width: W, height: H, colorType: 2, bitDepth: 16, samples: Array.from({ length: W * H * 3 }, (_, i) => [65535, 0, 32896][i % 3]!) });
    expect(pixel(decodeImage(rgb16), 4, 2)).toEqual([255, 0, 128, 255]);
    const rgba = encodePng({ width: W, height: H, colorType: 6, bitDepth: 8, samples: Array.from({ length: W * H * 4 }, (_, i) => i & 0xff) });
    expect(pixel(decodeImage(rgba), 1, 0)).toEqual([4, 5, 6, 7]);
    // Through preprocessing, grey becomes three equal channels.
    const x = preprocess(decodeImage(grey), UNIT);
    expect(x[0]).toBeCloseTo(x[224 * 224]!, 6);
  });

  it('decodes palette images and rejects out-of-range indices', () => {
    const palette: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    const pal = encodePng({ width: W, height: H, colorType: 3, bitDepth: 8, palette, samples: Array.from({ length: W * H }, (_, i) => i % 3) });
    const img = decodeImage(pal, 'palette.png');
    expect(pixel(img, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(pixel(img, idx(2, 0), 0)).toEqual([0, 0, 255, 255]);
    const badIndex = encodePng({ width: W, height: H, colorType: 3, bitDepth: 8, palette, samples: Array.from({ length: W * H }, () => 200) });
    try {
      const out = decodeImage(badIndex, 'badindex.png');
      expect(out.data.length).toBe(W * H * 4); // some decoders map it to black: acceptable
    } catch (e) {
      expect((e as EdgeqError).code).toBe('BAD_IMAGE');
    }
    const noPalette = encodePng({ width: W, height: H, colorType: 3, bitDepth: 8, samples: new Array(W * H).fill(0) });
    badImage(() => decodeImage(noPalette, 'nopalette.png'));
  });

  it('decodes 1x1 and 10000x10 PNGs, and applies an eXIf orientation', () => {
    for (const [w, h] of [[1, 1], [10000, 10]]) {
      const img = decodeImage(encodePng({ width: w, height: h, colorType: 2, bitDepth: 8, samples: new Uint8Array(w * h * 3).fill(77) }));
      expect([img.width, img.height]).toEqual([w, h]);
      expect(preprocess(img, UNIT).length).toBe(3 * 224 * 224);
    }
    const tall = encodePng({ width: 2, height: 3, colorType: 0, bitDepth: 8, samples: [1, 2, 3, 4, 5, 6], exif: exifTiff(6) });
    expect(pngOrientation(tall)).toBe(6);
    const img = decodeImage(tall);
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(pixel(img, 0, 0)[0]).toBe(5); // rotated 90 clockwise: the stored bottom-left is displayed top-left
  });

  it('rejects a PNG declaring more pixels than the limit before allocating', () => {
    const bytes = encodePng({ width: 2, height: 2, colorType: 2, bitDepth: 8, samples: new Array(12).fill(0), declared: { width: 100000, height: 100000 } });
    const t0 = performance.now();
    expect(badImage(() => decodeImage(bytes, 'huge.png')).message).toContain(`${MAX_IMAGE_PIXELS}-pixel limit`);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('rejects truncated PNGs at every cut', () => {
    const bytes = encodePng({ width: 9, height: 7, colorType: 2, bitDepth: 8, samples: Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 37) & 0xff) });
    for (let cut = 0; cut < bytes.length; cut++) badImage(() => decodeImage(bytes.subarray(0, cut), `cut${cut}.png`));
  });
});

describe('corrupt images (seeded mutations)', () => {
  it('bit flips, byte sets and truncations: decoded consistently or BAD_IMAGE', () => {
    const seeds = [
      rgbJpeg(40, 30), withJpegExif(cornerJpeg(), exifTiff(6)),
      encodeBlockJpeg({ blocksX: 2, blocksY: 2, components: 4, adobe: 2, block: (x, y) => [x * 100, y * 100, 50, 200] }),
      encodePng({ width: 9, height: 7, colorType: 3, bitDepth: 8, palette: [[1, 2, 3], [4, 5, 6]], samples: new Array(63).fill(1) }),
      encodePng({ width: 9, height: 7, colorType: 0, bitDepth: 16, samples: Array.from({ length: 63 }, (_, i) => i * 1000), exif: exifTiff(8) }),
    ];
    const rng = new Rng(7);
    let decoded = 0, rejected = 0;
    for (let i = 0; i < 600; i++) {
      const b = seeds[i % seeds.length]!.slice();
      const kind = rng.int(3);
      let bytes = b;
      if (kind === 0) for (let k = 0; k < 1 + rng.int(4); k++) b[rng.int(b.length)] ^= 1 << rng.int(8);
      else if (kind === 1) b[rng.int(b.length)] = [0, 0xff, 0xd9, 0xda][rng.int(4)]!;
      else bytes = b.subarray(0, rng.int(b.length));
      try {
        const img = decodeImage(bytes, `case${i}`);
        expect(img.width >= 1 && img.height >= 1 && img.data.length === img.width * img.height * img.channels).toBe(true);
        decoded++;
      } catch (e) {
        if (!(e instanceof EdgeqError) || e.code !== 'BAD_IMAGE') throw new Error(`case ${i}: ${String(e)}`, { cause: e });
        rejected++;
      }
    }
    expect(decoded + rejected).toBe(600);
  });

  it('rejects what is not an image', () => {
    badImage(() => decodeImage(new Uint8Array(0)));
    badImage(() => decodeImage(new TextEncoder().encode('GIF89a...')));
    badImage(() => decodeImage('not bytes' as unknown as Uint8Array));
  });

  it('applyOrientation keeps every pixel (a permutation)', () => {
    const img: RawImage = { width: 3, height: 2, channels: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    for (let o = 1 as Orientation; o <= 8; o = (o + 1) as Orientation) {
      expect(Array.from(applyOrientation(img, o).data).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect(Array.from(applyOrientation(img, 6).data)).toEqual([4, 1, 5, 2, 6, 3]);
  });
});
