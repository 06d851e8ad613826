// Image -> model input, driven entirely by a PreprocessSpec (data, not code). Browser-safe.
//
//   square-crop: crop the largest centred square (offsets floor((H-S)/2), floor((W-S)/2)),
//                resize it to resize x resize, then centre-crop `crop`.
//   short-side:  resize so the short side is `resize` (long side floor(resize*long/short), as
//                torchvision), then centre-crop `crop` (offsets floor((size-crop)/2)).
// The resampler is spec.interpolation ('antialias' = Pillow bilinear, 'bilinear' = TF legacy).
// Then each value v (0..255 scale) becomes (v / scale - mean[c]) / std[c], channels in spec order.

import { EdgeqError } from '../errors.js';
import type { PreprocessSpec } from './spec.js';
import type { FloatImage, ImageDataLike, RawImage } from './types.js';
import { asRawImage, toFloatRgb } from './types.js';
import { centreOffset, cropFloat, resizeAntialias, resizeBilinearTF, shortSideSize } from './resize.js';

function checkSpec(spec: PreprocessSpec): void {
  const ok = Number.isInteger(spec.resize) && spec.resize > 0 && Number.isInteger(spec.crop) && spec.crop > 0
    && spec.crop <= spec.resize && spec.scale > 0 && spec.std.every((s) => s > 0)
    && (spec.resizeMode === 'short-side' || spec.resizeMode === 'square-crop')
    && (spec.interpolation === 'antialias' || spec.interpolation === 'bilinear')
    && (spec.channels === 'rgb' || spec.channels === 'bgr');
  if (!ok) throw new EdgeqError('BAD_OPTION', `invalid preprocessing spec ${JSON.stringify(spec)}`);
}

function resizeWith(spec: PreprocessSpec, img: FloatImage, w: number, h: number): FloatImage {
  if (w === img.width && h === img.height) return img;
  return spec.interpolation === 'antialias' ? resizeAntialias(img, w, h) : resizeBilinearTF(img, w, h);
}

/** Resizes and crops an image as the spec says; returns RGB floats (0..255 scale), crop x crop. */
export function resizeAndCrop(image: RawImage | ImageDataLike, spec: PreprocessSpec): FloatImage {
  checkSpec(spec);
  const raw = asRawImage(image);
  let img: FloatImage;
  if (spec.resizeMode === 'square-crop') {
    const s = Math.min(raw.width, raw.height);
    img = toFloatRgb(raw, centreOffset(raw.width, s), centreOffset(raw.height, s), s, s);
    img = resizeWith(spec, img, spec.resize, spec.resize);
  } else {
    const size = shortSideSize(raw.width, raw.height, spec.resize);
    const wide = size.width >= size.height;
    const longOut = wide ? size.width : size.height;
    if (longOut > 4 * spec.crop) {
      // An extreme aspect ratio (a 10000x10 strip) would make the full resize huge: resize only
      // the centre band the crop needs, plus a margin for the filter's support.
      const keepOut = spec.crop + 16;
      const srcLong = wide ? raw.width : raw.height;
      const keepSrc = Math.max(1, Math.min(srcLong, Math.round((keepOut * srcLong) / longOut)));
      const off = centreOffset(srcLong, keepSrc);
      img = wide ? toFloatRgb(raw, off, 0, keepSrc, raw.height) : toFloatRgb(raw, 0, off, raw.width, keepSrc);
      img = resizeWith(spec, img, wide ? keepOut : size.width, wide ? size.height : keepOut);
    } else {
      img = resizeWith(spec, toFloatRgb(raw), size.width, size.height);
    }
  }
  return cropFloat(img, centreOffset(img.width, spec.crop), centreOffset(img.height, spec.crop), spec.crop, spec.crop);
}

/** Normalizes RGB floats into NCHW float32 [1, 3, H, W] (written into `out` at `offset` when given). */
export function toNCHW(img: FloatImage, spec: PreprocessSpec, out?: Float32Array, offset = 0): Float32Array {
  const plane = img.width * img.height;
  const dst = out ?? new Float32Array(3 * plane);
  if (dst.length < offset + 3 * plane) throw new EdgeqError('BAD_OPTION', `output buffer too small for a 3x${img.height}x${img.width} image`);
  const order = spec.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const srcC = order[c]!;
    // (v / scale - mean) / std, computed in that order in double precision.
    const scale = spec.scale, mean = spec.mean[c]!, std = spec.std[c]!;
    const base = offset + c * plane;
    for (let p = 0, i = srcC; p < plane; p++, i += 3) dst[base + p] = (img.data[i]! / scale - mean) / std;
  }
  return dst;
}

/** Rounds RGB floats to uint8 NHWC (channel order as the spec: RGB or BGR), for an integer input path. */
export function toNHWCUint8(img: FloatImage, spec: PreprocessSpec): RawImage {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const bgr = spec.channels === 'bgr';
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = img.data[p * 3 + (bgr ? 2 - c : c)]!;
      out[p * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

/** The model input for one image: NCHW float32 [1, 3, crop, crop]. */
export function preprocess(image: RawImage | ImageDataLike, spec: PreprocessSpec): Float32Array {
  return toNCHW(resizeAndCrop(image, spec), spec);
}

/** The resized and cropped pixels as uint8 NHWC [1, crop, crop, 3]. */
export function preprocessPixels(image: RawImage | ImageDataLike, spec: PreprocessSpec): RawImage {
  return toNHWCUint8(resizeAndCrop(image, spec), spec);
}

/** A batch of images as NCHW float32 [N, 3, crop, crop]. */
export function preprocessBatch(images: readonly (RawImage | ImageDataLike)[], spec: PreprocessSpec): Float32Array {
  const per = 3 * spec.crop * spec.crop;
  const out = new Float32Array(images.length * per);
  images.forEach((im, i) => toNCHW(resizeAndCrop(im, spec), spec, out, i * per));
  return out;
}
