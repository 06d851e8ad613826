// EXIF orientation: read from a JPEG (APP1 "Exif") or PNG (eXIf chunk) and applied to decoded
// pixels, so an image is classified the way viewers and browsers display it. Browser-safe, and
// defensive: the bytes are untrusted, so a damaged or hostile EXIF block means "no orientation"
// (1), never an exception or a read outside the buffer.
import type { RawImage } from './types.js';

/** EXIF orientations 1..8 (1 = as stored). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const TAG_ORIENTATION = 0x0112;
const TYPE_SHORT = 3;

/** The orientation in a TIFF-structured EXIF block ("II"/"MM", 42, IFD0), or 1. */
export function orientationFromTiff(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) return 1;
  const le = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!le && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1;
  const u16 = (o: number) => (le ? tiff[o]! | (tiff[o + 1]! << 8) : (tiff[o]! << 8) | tiff[o + 1]!);
  const u32 = (o: number) => (le
    ? (tiff[o]! | (tiff[o + 1]! << 8) | (tiff[o + 2]! << 16)) + tiff[o + 3]! * 2 ** 24
    : ((tiff[o + 1]! << 16) | (tiff[o + 2]! << 8) | tiff[o + 3]!) + tiff[o]! * 2 ** 24);
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.length) return 1;
    if (u16(e) !== TAG_ORIENTATION) continue;
    if (u16(e + 2) !== TYPE_SHORT || u32(e + 4) < 1) return 1;
    const v = u16(e + 8);
    return v >= 1 && v <= 8 ? (v as Orientation) : 1;
  }
  return 1;
}

const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

/** The orientation of a JPEG: the first APP1 "Exif" segment before the first scan, or 1. */
export function jpegOrientation(bytes: Uint8Array): Orientation {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 1;
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return 1;
    const marker = bytes[p + 1]!;
    if (marker === 0xff) { p++; continue; } // fill byte
    if (marker === 0xda || marker === 0xd9) return 1; // start of scan / end of image: no EXIF before the data
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { p += 2; continue; } // no length field
    const length = (bytes[p + 2]! << 8) | bytes[p + 3]!;
    if (length < 2 || p + 2 + length > bytes.length) return 1;
    const body = p + 4;
    if (marker === 0xe1 && length >= 2 + 6 + 8 && EXIF_ID.every((b, i) => bytes[body + i] === b)) {
      return orientationFromTiff(bytes.subarray(body + 6, p + 2 + length));
    }
    p += 2 + length;
  }
  return 1;
}

/** The orientation of a PNG: its eXIf chunk, or 1. */
export function pngOrientation(bytes: Uint8Array): Orientation {
  let p = 8;
  while (p + 12 <= bytes.length) {
    const length = ((bytes[p]! << 24) >>> 0) + ((bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    if (p + 12 + length > bytes.length) return 1;
    if (type === 'eXIf') return orientationFromTiff(bytes.subarray(p + 8, p + 8 + length));
    if (type === 'IEND') return 1;
    p += 12 + length;
  }
  return 1;
}

/**
 * The image as displayed under an EXIF orientation: 2 mirror, 3 rotate 180, 4 flip, 5 transpose,
 * 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise (5-8 swap width and height).
 * Orientation 1 returns the image itself.
 */
export function applyOrientation(image: RawImage, orientation: Orientation): RawImage {
  if (orientation === 1) return image;
  const { width: W, height: H, channels: c, data } = image;
  const swap = orientation >= 5;
  const ow = swap ? H : W, oh = swap ? W : H;
  const out = new Uint8Array(W * H * c);
  // Source pixel of output (x, y) for each orientation.
  const src: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * W + (W - 1 - x),
    3: (x: number, y: number) => (H - 1 - y) * W + (W - 1 - x),
    4: (x: number, y: number) => (H - 1 - y) * W + x,
    5: (x: number, y: number) => x * W + y,
    6: (x: number, y: number) => (H - 1 - x) * W + y,
    7: (x: number, y: number) => (H - 1 - x) * W + (W - 1 - y),
    8: (x: number, y: number) => x * W + (W - 1 - y),
  }[orientation];
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const s = src(x, y) * c;
      for (let k = 0; k < c; k++) out[o++] = data[s + k]!;
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}
