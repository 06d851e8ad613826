// Resizing and cropping of RGB float images (HWC). Browser-safe.
//
// Two resamplers, chosen by PreprocessSpec.interpolation:
//  - resizeAntialias: the PIL/Pillow "bilinear" resample (what torchvision's Resize does on PIL
//    images). A triangle filter whose support grows with the downscale factor, so shrinking averages
//    every source pixel (antialiasing). Separable: a horizontal pass, then a vertical pass. Like
//    Pillow on 8-bit images, the filter weights are fixed-point (22 fractional bits) and each pass
//    rounds and clamps to 0..255, so the output is integer-valued and matches Pillow bit for bit
//    for 8-bit input.
//  - resizeBilinearTF: TensorFlow's legacy bilinear (tf.image.resize_bilinear / tfjs resizeBilinear
//    with alignCorners=false, halfPixelCenters=false): src = dst * inSize / outSize, y0 = floor(src),
//    y1 = min(y0 + 1, inSize - 1), linear weights, no antialiasing. Output is float (not rounded).

import type { FloatImage } from './types.js';

/** Pillow's fixed-point precision for 8-bit resampling: 32 - 8 bits of value - 2 guard bits. */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Fixed-point filter taps for one output coordinate: first source index and integer weights. */
interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array[]; // integer-valued (fixed point)
}

function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Computes the antialiased triangle-filter taps for resampling `inSize` samples to `outSize`. */
export function antialiasTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1, scaled when shrinking
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // Pillow truncates toward zero, then clamps to the image.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = hi - lo;
    const k = new Float64Array(n);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const w = triangle((j + lo - center + 0.5) * invFilterScale);
      k[j] = w;
      sum += w;
    }
    for (let j = 0; j < n; j++) {
      const w = sum !== 0 ? k[j]! / sum : 0;
      // Round to fixed point half away from zero.
      k[j] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[o] = lo;
    count[o] = n;
    weights.push(k);
  }
  return { start, count, weights };
}

function clip8(accumulator: number): number {
  const v = Math.floor(accumulator / ONE); // arithmetic shift right
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow-style antialiased bilinear resize of an image whose values are integers in 0..255.
 * Horizontal pass first, then vertical; each pass rounds to integers in 0..255.
 */
export function resizeAntialias(image: FloatImage, outWidth: number, outHeight: number): FloatImage {
  let img = image;
  if (outWidth !== img.width) {
    const taps = antialiasTaps(img.width, outWidth);
    const out = new Float32Array(outWidth * img.height * 3);
    const src = img.data;
    for (let y = 0; y < img.height; y++) {
      const row = y * img.width * 3;
      for (let x = 0; x < outWidth; x++) {
        const k = taps.weights[x]!;
        const s0 = row + taps.start[x]! * 3;
        let r = HALF, g = HALF, b = HALF;
        for (let j = 0, i = s0; j < k.length; j++, i += 3) {
          const w = k[j]!;
          r += src[i]! * w; g += src[i + 1]! * w; b += src[i + 2]! * w;
        }
        const o = (y * outWidth + x) * 3;
        out[o] = clip8(r); out[o + 1] = clip8(g); out[o + 2] = clip8(b);
      }
    }
    img = { width: outWidth, height: img.height, data: out };
  }
  if (outHeight !== img.height) {
    const taps = antialiasTaps(img.height, outHeight);
    const w3 = img.width * 3;
    const out = new Float32Array(w3 * outHeight);
    const src = img.data;
    for (let y = 0; y < outHeight; y++) {
      const k = taps.weights[y]!;
      const s0 = taps.start[y]! * w3;
      for (let x = 0; x < w3; x++) {
        let acc = HALF;
        for (let j = 0, i = s0 + x; j < k.length; j++, i += w3) acc += src[i]! * k[j]!;
        out[y * w3 + x] = clip8(acc);
      }
    }
    img = { width: img.width, height: outHeight, data: out };
  }
  return img === image ? { width: image.width, height: image.height, data: image.data.slice() } : img;
}

/** Source indices and weights of TF legacy bilinear sampling along one axis. */
function tfAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; frac: Float64Array } {
  const ratio = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const s = o * ratio;
    const f = Math.floor(s);
    i0[o] = f;
    i1[o] = Math.min(f + 1, inSize - 1);
    frac[o] = s - f;
  }
  return { i0, i1, frac };
}

/** TensorFlow legacy bilinear resize (no antialiasing, no half-pixel centres); float output. */
export function resizeBilinearTF(image: FloatImage, outWidth: number, outHeight: number): FloatImage {
  const ax = tfAxis(image.width, outWidth);
  const ay = tfAxis(image.height, outHeight);
  const src = image.data;
  const out = new Float32Array(outWidth * outHeight * 3);
  const rowStride = image.width * 3;
  for (let y = 0; y < outHeight; y++) {
    const top = ay.i0[y]! * rowStride;
    const bottom = ay.i1[y]! * rowStride;
    const fy = ay.frac[y]!;
    for (let x = 0; x < outWidth; x++) {
      const l = ax.i0[x]! * 3;
      const r = ax.i1[x]! * 3;
      const fx = ax.frac[x]!;
      const o = (y * outWidth + x) * 3;
      for (let c = 0; c < 3; c++) {
        const tl = src[top + l + c]!, tr = src[top + r + c]!;
        const bl = src[bottom + l + c]!, br = src[bottom + r + c]!;
        // Same evaluation order as tfjs: interpolate along x on both rows, then along y.
        const t = tl + (tr - tl) * fx;
        const b = bl + (br - bl) * fx;
        out[o + c] = t + (b - t) * fy;
      }
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/** Copies the rectangle (x, y, w, h) of a float image. */
export function cropFloat(image: FloatImage, x: number, y: number, w: number, h: number): FloatImage {
  if (x === 0 && y === 0 && w === image.width && h === image.height) return image;
  const out = new Float32Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    const s = ((y + r) * image.width + x) * 3;
    out.set(image.data.subarray(s, s + w * 3), r * w * 3);
  }
  return { width: w, height: h, data: out };
}

/**
 * Offset of a centred window of `inner` samples in `outer` samples: floor((outer - inner) / 2).
 * torchvision's CenterCrop rounds (outer - inner) / 2 half to even instead; the two differ by one
 * pixel only when outer - inner is odd and (outer - inner - 1) / 2 is odd.
 */
export function centreOffset(outer: number, inner: number): number {
  return Math.floor((outer - inner) / 2);
}

/** Output size of a short-side resize: the short side becomes `short`, the long side floor(short * long / shortIn) (torchvision). */
export function shortSideSize(width: number, height: number, short: number): { width: number; height: number } {
  if (width <= height) return { width: short, height: Math.floor((short * height) / width) };
  return { width: Math.floor((short * width) / height), height: short };
}
