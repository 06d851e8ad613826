// Image -> model input, driven entirely by a PreprocessSpec (data, not code). Browser-safe.
//
// The output is H x W = cropSize(spec) (crop x crop unless spec.size is [H, W]); crop is the larger side.
//   square-crop: crop the largest centred window of the output's aspect W:H (a square when H = W;
//                offsets floor((H-s)/2), floor((W-s)/2)), resize it to round(resize*W/crop) x
//                round(resize*H/crop), then centre-crop H x W.
//   short-side:  resize so the short side is `resize` (long side floor(resize*long/short), as
//                torchvision), then centre-crop H x W (offsets floor((size-crop)/2)).
// The resampler is spec.interpolation ('antialias' = Pillow bilinear, 'bilinear' = TF legacy).
// Then each value v (0..255 scale) becomes (v / scale - mean[c]) / std[c], channels in spec order;
// 'gray' takes the luma 0.299 R + 0.587 G + 0.114 B first (one plane, mean[0], std[0]).

import { EdgeqError } from '../errors.js';
import { cropSize, isValidSpec, specChannels, type PreprocessSpec } from './spec.js';
import type { FloatImage, ImageDataLike, RawImage } from './types.js';
import { asRawImage, toFloatRgb } from './types.js';
import { centreOffset, cropFloat, resizeAntialias, resizeBilinearTF, shortSideSize } from './resize.js';

function checkSpec(spec: PreprocessSpec): void {
  if (!isValidSpec(spec) || !spec.std.every((s) => s > 0)) throw new EdgeqError('BAD_OPTION', `invalid preprocessing spec ${JSON.stringify(spec)}`);
}

/** ITU-R BT.601 luma weights of R, G, B ('gray' preprocessing). */
export const LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];

function resizeWith(spec: PreprocessSpec, img: FloatImage, w: number, h: number): FloatImage {
  if (w === img.width && h === img.height) return img;
  return spec.interpolation === 'antialias' ? resizeAntialias(img, w, h) : resizeBilinearTF(img, w, h);
}

/** Resizes and crops an image as the spec says; returns RGB floats (0..255 scale), W x H of cropSize(spec). */
export function resizeAndCrop(image: RawImage | ImageDataLike, spec: PreprocessSpec): FloatImage {
  checkSpec(spec);
  const raw = asRawImage(image);
  let img: FloatImage;
  const [ch, cw] = cropSize(spec);
  if (spec.resizeMode === 'square-crop') {
    // The largest centred window of aspect cw:ch (a square for a square crop).
    const k = Math.min(raw.width / cw, raw.height / ch);
    const sw = Math.max(1, Math.min(raw.width, Math.round(k * cw))), sh = Math.max(1, Math.min(raw.height, Math.round(k * ch)));
    img = toFloatRgb(raw, centreOffset(raw.width, sw), centreOffset(raw.height, sh), sw, sh);
    img = resizeWith(spec, img, Math.round((spec.resize * cw) / spec.crop), Math.round((spec.resize * ch) / spec.crop));
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
  return cropFloat(img, centreOffset(img.width, cw), centreOffset(img.height, ch), cw, ch);
}

/** Normalizes RGB floats into NCHW float32 [1, C, H, W], C = 3 or 1 ('gray') (written into `out` at `offset` when given). */
export function toNCHW(img: FloatImage, spec: PreprocessSpec, out?: Float32Array, offset = 0): Float32Array {
  const plane = img.width * img.height;
  const planes = specChannels(spec);
  const dst = out ?? new Float32Array(planes * plane);
  if (dst.length < offset + planes * plane) throw new EdgeqError('BAD_OPTION', `output buffer too small for a ${planes}x${img.height}x${img.width} image`);
  if (spec.channels === 'gray') {
    // (Y / scale - mean) / std with Y = 0.299 R + 0.587 G + 0.114 B, in double precision.
    const scale = spec.scale, mean = spec.mean[0], std = spec.std[0];
    for (let p = 0, i = 0; p < plane; p++, i += 3) {
      const y = LUMA[0] * img.data[i]! + LUMA[1] * img.data[i + 1]! + LUMA[2] * img.data[i + 2]!;
      dst[offset + p] = (y / scale - mean) / std;
    }
    return dst;
  }
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

/** Rounds RGB floats to uint8 NHWC (channel order as the spec: RGB or BGR; 'gray' keeps RGB), for an integer input path. */
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

/** The model input for one image: NCHW float32 [1, C, H, W] (C = specChannels(spec), [H, W] = cropSize(spec)). */
export function preprocess(image: RawImage | ImageDataLike, spec: PreprocessSpec): Float32Array {
  return toNCHW(resizeAndCrop(image, spec), spec);
}

/** The resized and cropped pixels as uint8 NHWC [1, H, W, 3]. */
export function preprocessPixels(image: RawImage | ImageDataLike, spec: PreprocessSpec): RawImage {
  return toNHWCUint8(resizeAndCrop(image, spec), spec);
}

/** A batch of images as NCHW float32 [N, C, H, W]. */
export function preprocessBatch(images: readonly (RawImage | ImageDataLike)[], spec: PreprocessSpec): Float32Array {
  const [h, w] = cropSize(spec);
  const per = specChannels(spec) * h * w;
  const out = new Float32Array(images.length * per);
  images.forEach((im, i) => toNCHW(resizeAndCrop(im, spec), spec, out, i * per));
  return out;
}
