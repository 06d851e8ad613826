// Synthetic natural-looking images: smooth RGB with a roughly 1/f amplitude spectrum (random
// low-frequency sinusoids whose amplitude falls with frequency), a colour gradient, soft blobs and
// mild pixel noise. They feed the embedded ResNet-50's BatchNorm calibration, quantizer calibration
// on synthetic data, and benchmarks — one generator for all. Browser-safe and deterministic.

import { preprocessBatch } from 'edgeq/image';
import { IMAGENET, type PreprocessSpec } from 'edgeq/image';
import type { RawImage } from 'edgeq/image';
import { Rng, mixSeed } from './random.js';

const STREAM_IMAGE = 0x1ae9;

/** Adds amp * sin(kx*x + ky*y + phase) to `field` (w*h), using sin(a+b) = sin a cos b + cos a sin b per row/column. */
function addSinusoid(field: Float64Array, w: number, h: number, kx: number, ky: number, phase: number, amp: number): void {
  const sx = new Float64Array(w), cx = new Float64Array(w);
  for (let x = 0; x < w; x++) { sx[x] = Math.sin(kx * x); cx[x] = Math.cos(kx * x); }
  for (let y = 0; y < h; y++) {
    const b = ky * y + phase;
    const cb = amp * Math.cos(b), sb = amp * Math.sin(b);
    const row = y * w;
    for (let x = 0; x < w; x++) field[row + x]! += sx[x]! * cb + cx[x]! * sb;
  }
}

/** A sum of `count` random sinusoids with amplitude ~ 1/f, frequency from fMin to fMax cycles per image side. */
function spectralField(rng: Rng, w: number, h: number, count: number, fMin: number, fMax: number): Float64Array {
  const field = new Float64Array(w * h);
  const side = Math.max(w, h);
  for (let i = 0; i < count; i++) {
    const f = fMin * Math.pow(fMax / fMin, rng.next()); // log-uniform frequency
    const angle = rng.uniform(0, Math.PI);
    const k = (2 * Math.PI * f) / side;
    addSinusoid(field, w, h, k * Math.cos(angle), k * Math.sin(angle), rng.uniform(0, 2 * Math.PI), (0.5 + rng.next()) / f);
  }
  return field;
}

function standardize(field: Float64Array): void {
  let s = 0, s2 = 0;
  for (const v of field) { s += v; s2 += v * v; }
  const mean = s / field.length;
  const std = Math.sqrt(Math.max(s2 / field.length - mean * mean, 1e-12));
  for (let i = 0; i < field.length; i++) field[i] = (field[i]! - mean) / std;
}

/**
 * A smooth, natural-image-like RGB image (uint8, 3 channels). Same seed and size -> same pixels.
 * Luminance and two chroma fields with 1/f spectra, a colour gradient, 2-5 soft coloured blobs,
 * 1-3 textured ellipses with sharp edges in front, then Gaussian noise of std 2 grey levels.
 */
export function syntheticImage(seed: number, width = 224, height = width): RawImage {
  const rng = new Rng(mixSeed(STREAM_IMAGE, seed, width, height));
  const n = width * height;
  const lum = spectralField(rng, width, height, 24, 0.6, 16);
  const chromaA = spectralField(rng, width, height, 8, 0.5, 6);
  const chromaB = spectralField(rng, width, height, 8, 0.5, 6);
  standardize(lum); standardize(chromaA); standardize(chromaB);

  // Per-image palette: base colour, contrast, and how the chroma fields map to RGB.
  const base = [rng.uniform(70, 180), rng.uniform(70, 180), rng.uniform(70, 180)];
  const contrast = rng.uniform(25, 55);
  const chroma = rng.uniform(8, 25);
  const mixA = [rng.normal(), rng.normal(), rng.normal()];
  const mixB = [rng.normal(), rng.normal(), rng.normal()];
  const grad = [0, 1, 2].map(() => [rng.normal() * 20, rng.normal() * 20]); // per channel (x, y) slopes over the image
  const blobs = Array.from({ length: 2 + rng.int(4) }, () => ({
    cx: rng.uniform(0, width), cy: rng.uniform(0, height),
    r: rng.uniform(0.05, 0.3) * Math.min(width, height),
    colour: [rng.normal() * 50, rng.normal() * 50, rng.normal() * 50],
  }));

  const rgb = new Float64Array(n * 3);
  for (let y = 0; y < height; y++) {
    const v = y / height - 0.5;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const u = x / width - 0.5;
      for (let c = 0; c < 3; c++) {
        rgb[p * 3 + c] = base[c]! + contrast * lum[p]! + chroma * (mixA[c]! * chromaA[p]! + mixB[c]! * chromaB[p]!)
          + grad[c]![0]! * u + grad[c]![1]! * v;
      }
    }
  }
  for (const b of blobs) {
    const inv = 1 / (2 * b.r * b.r);
    const y0 = Math.max(0, Math.floor(b.cy - 3 * b.r)), y1 = Math.min(height, Math.ceil(b.cy + 3 * b.r));
    const x0 = Math.max(0, Math.floor(b.cx - 3 * b.r)), x1 = Math.min(width, Math.ceil(b.cx + 3 * b.r));
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const g = Math.exp(-((x - b.cx) ** 2 + (y - b.cy) ** 2) * inv);
        const p = (y * width + x) * 3;
        for (let c = 0; c < 3; c++) rgb[p + c]! += g * b.colour[c]!;
      }
    }
  }
  // 1-3 opaque ellipses with anti-aliased edges (about 1.5 px wide): natural images have edges.
  const objects = 1 + rng.int(3);
  for (let o = 0; o < objects; o++) {
    const cx = rng.uniform(0, width), cy = rng.uniform(0, height);
    const rx = rng.uniform(0.08, 0.35) * width, ry = rng.uniform(0.08, 0.35) * height;
    const rot = rng.uniform(0, Math.PI), cr = Math.cos(rot), sr = Math.sin(rot);
    const colour = [rng.uniform(20, 235), rng.uniform(20, 235), rng.uniform(20, 235)];
    const texture = rng.uniform(0.2, 0.8) * contrast;
    const edge = 1.5 / Math.min(rx, ry);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const dx = x - cx, dy = y - cy;
        const a = (dx * cr + dy * sr) / rx, b = (-dx * sr + dy * cr) / ry;
        const d = Math.sqrt(a * a + b * b) - 1; // < 0 inside
        if (d > 3 * edge) continue;
        const m = d < -3 * edge ? 1 : 1 / (1 + Math.exp(d / edge));
        const p = y * width + x;
        for (let c = 0; c < 3; c++) {
          const inside = colour[c]! + texture * lum[p]!;
          rgb[p * 3 + c] = (1 - m) * rgb[p * 3 + c]! + m * inside;
        }
      }
    }
  }
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(rgb[i]! + 2 * rng.normal());
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width, height, channels: 3, data };
}

/**
 * `count` synthetic images preprocessed by `spec` (default IMAGENET) into NCHW float32
 * [count, C, H, W] (C 3, or 1 for 'gray'; H x W the spec's crop). Image i uses seed mixSeed(seed, i); short-side specs get images whose
 * short side is spec.resize and whose long side varies (up to 4:3), in either orientation.
 */
export function syntheticBatchNCHW(seed: number, count: number, spec: PreprocessSpec = IMAGENET): Float32Array {
  return preprocessBatch(syntheticImages(seed, count, spec), spec);
}

/** The raw images behind syntheticBatchNCHW (same seeds and sizes). */
export function syntheticImages(seed: number, count: number, spec: PreprocessSpec = IMAGENET): RawImage[] {
  const images: RawImage[] = [];
  for (let i = 0; i < count; i++) {
    const s = mixSeed(seed, i);
    const rng = new Rng(mixSeed(s, 0x512e));
    const short = spec.resize;
    const long = short + rng.int(Math.floor(short / 3) + 1);
    const landscape = rng.next() < 0.5;
    images.push(syntheticImage(s, landscape ? long : short, landscape ? short : long));
  }
  return images;
}
