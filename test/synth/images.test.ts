import { describe, expect, it } from 'vitest';
import { IMAGENET } from '../../src/image/spec.js';
import { syntheticBatchNCHW, syntheticImage, syntheticImages } from '../../tools/synth/images.js';

/** Correlation between each pixel and its right and lower neighbour, over all channels. */
function neighbourCorrelation(img: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): number {
  const a: number[] = [], b: number[] = [];
  const { width: w, height: h, data } = img;
  for (let y = 0; y < h - 1; y++) {
    for (let x = 0; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        const v = data[(y * w + x) * 3 + c]!;
        a.push(v, v);
        b.push(data[(y * w + x + 1) * 3 + c]!, data[((y + 1) * w + x) * 3 + c]!);
      }
    }
  }
  const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) { sab += (a[i]! - ma) * (b[i]! - mb); saa += (a[i]! - ma) ** 2; sbb += (b[i]! - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

describe('synthetic images', () => {
  it('are deterministic per seed and differ between seeds', () => {
    const a = syntheticImage(3), b = syntheticImage(3), c = syntheticImage(4);
    expect([a.width, a.height, a.channels]).toEqual([224, 224, 3]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(false);
  });

  it('are smooth (neighbour correlation > 0.8) yet use a real range of values', () => {
    for (let seed = 0; seed < 6; seed++) {
      const img = syntheticImage(seed);
      expect(neighbourCorrelation(img)).toBeGreaterThan(0.8);
      let min = 255, max = 0;
      for (const v of img.data) { min = Math.min(min, v); max = Math.max(max, v); }
      expect(max - min).toBeGreaterThan(80);
    }
  });

  it('makes ImageNet-normalized NCHW batches with varied sizes before the crop', () => {
    const imgs = syntheticImages(1, 6);
    for (const im of imgs) expect(Math.min(im.width, im.height)).toBe(256);
    expect(new Set(imgs.map((im) => `${im.width}x${im.height}`)).size).toBeGreaterThan(1);
    const x = syntheticBatchNCHW(1, 4, IMAGENET);
    expect(x.length).toBe(4 * 3 * 224 * 224);
    expect(Buffer.from(x.buffer).equals(Buffer.from(syntheticBatchNCHW(1, 4).buffer))).toBe(true);
    let s = 0, s2 = 0;
    for (const v of x) { s += v; s2 += v * v; }
    const mean = s / x.length, std = Math.sqrt(s2 / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(1);
    expect(std).toBeGreaterThan(0.3);
    expect(std).toBeLessThan(2);
  });
});
