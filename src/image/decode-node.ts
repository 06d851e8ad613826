// Node adapter: decode JPEG (jpeg-js) and PNG (pngjs) bytes into RawImage. The browser gets
// pixels from a canvas (ImageData) instead, so the core never imports this file.
//
// The bytes are untrusted: every failure (truncated or corrupt data, an unsupported colour mode,
// a size over the pixel limit, a decoder exception of any type) is EdgeqError('BAD_IMAGE'), and the
// declared size is checked before the decoder allocates anything.

import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { EdgeqError } from '../errors.js';
import { applyOrientation, jpegOrientation, pngOrientation } from './exif.js';
import type { RawImage } from './types.js';

export type ImageFormat = 'jpeg' | 'png';

/** Largest image decoded, in pixels (jpeg-js's own default limit, applied to PNG too). */
export const MAX_IMAGE_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** 'exif' (default): rotate/flip as the file's EXIF orientation says, as browsers display it; 'ignore': pixels as stored. */
  orientation?: 'exif' | 'ignore';
  /** Pixel limit (default MAX_IMAGE_PIXELS). */
  maxPixels?: number;
}

/** Recognizes JPEG (FF D8 FF) and PNG (89 'PNG' 0D 0A 1A 0A) by their magic bytes. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  return undefined;
}

/** The size a PNG's IHDR declares (undefined when there is no readable IHDR). */
function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Decodes JPEG or PNG bytes. JPEG -> RGB (3 channels; jpeg-js colour transform, CMYK with an Adobe
 * marker converted to RGB, ICC profiles ignored). PNG -> RGBA (4 channels; grey, palette and 16-bit
 * samples expanded to 8-bit RGBA). The EXIF orientation is applied unless options say otherwise.
 */
export function decodeImage(bytes: Uint8Array, what = 'image', options: DecodeOptions = {}): RawImage {
  const bad = (msg: string, cause?: unknown): never => {
    throw new EdgeqError('BAD_IMAGE', `${what}: ${msg}`, cause === undefined ? undefined : { cause });
  };
  if (!(bytes instanceof Uint8Array)) bad('image bytes must be a Uint8Array');
  const format = sniffImageFormat(bytes);
  if (!format) bad(`not a JPEG or PNG file (${bytes.length} bytes)`);
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  let image: RawImage;
  try {
    if (format === 'jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: maxPixels / 1e6 });
      image = { width: img.width, height: img.height, channels: 3, data: img.data };
    } else {
      const size = pngSize(bytes);
      if (size && size.width * size.height > maxPixels) bad(`PNG of ${size.width}x${size.height} exceeds the ${maxPixels}-pixel limit`);
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      image = {
        width: img.width, height: img.height, channels: 4,
        data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength),
      };
    }
  } catch (err) {
    if (err instanceof EdgeqError) throw err;
    return bad(`cannot decode ${format}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const { width, height, channels, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) bad(`decoded to an empty ${width}x${height} image`);
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels) bad(`decoded ${data?.length} bytes for ${width}x${height}x${channels}`);
  if (options.orientation === 'ignore') return image;
  return applyOrientation(image, format === 'jpeg' ? jpegOrientation(bytes) : pngOrientation(bytes));
}

/** Reads and decodes an image file. */
export function readImage(path: string, options: DecodeOptions = {}): RawImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new EdgeqError('NOT_FOUND', `image ${path} does not exist`, { cause: err });
    throw new EdgeqError('BAD_IMAGE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  return decodeImage(bytes, path, options);
}
