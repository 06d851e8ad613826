// Node adapter: decode JPEG (jpeg-js) and PNG (pngjs) bytes into RawImage. The browser gets
// pixels from a canvas (ImageData) instead, so the core never imports this file.

import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EdgeqError } from '../errors.js';
import type { RawImage } from './types.js';

export type ImageFormat = 'jpeg' | 'png';

/** Recognizes JPEG (FF D8 FF) and PNG (89 'PNG' 0D 0A 1A 0A) by their magic bytes. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  return undefined;
}

/**
 * Decodes JPEG or PNG bytes. JPEG -> RGB (3 channels; jpeg-js default colour transform; ICC
 * profiles and EXIF orientation ignored). PNG -> RGBA (4 channels; 16-bit samples scaled to 8 bits).
 */
export function decodeImage(bytes: Uint8Array, what = 'image'): RawImage {
  const format = sniffImageFormat(bytes);
  try {
    if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      return { width: img.width, height: img.height, channels: 3, data: img.data };
    }
    if (format === 'png') {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return {
        width: img.width, height: img.height, channels: 4,
        data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      };
    }
  } catch (err) {
    throw new EdgeqError('BAD_IMAGE', `${what}: cannot decode ${format}: ${(err as Error).message}`, { cause: err });
  }
  throw new EdgeqError('BAD_IMAGE', `${what}: not a JPEG or PNG file`);
}

/** Reads and decodes an image file. */
export function readImage(path: string): RawImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new EdgeqError('BAD_IMAGE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return decodeImage(bytes, path);
}
