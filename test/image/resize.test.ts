import { describe, expect, it } from 'vitest';
import { antialiasTaps, centreOffset, resizeAntialias, resizeBilinearTF, shortSideSize } from '../../src/image/resize.js';
import type { FloatImage } from '../../src/image/types.js';

/** A grey image (R=G=B) from rows of values. */
function grey(rows: number[][]): FloatImage {
  const h = rows.length, w = rows[0]!.length;
  const data = new Float32Array(w * h * 3);
  rows.forEach((row, y) => row.forEach((v, x) => data.fill(v, (y * w + x) * 3, (y * w + x) * 3 + 3)));
  return { width: w, height: h, data };
}

function channel0(img: FloatImage): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < img.height; y++) {
    const row: number[] = [];
    for (let x = 0; x < img.width; x++) row.push(img.data[(y * img.width + x) * 3]!);
    rows.push(row);
  }
  return rows;
}

describe('antialiased (Pillow-style) bilinear', () => {
  it('4 -> 2 uses the scaled triangle: taps 3/7, 3/7, 1/7 and 1/7, 3/7, 3/7', () => {
    const taps = antialiasTaps(4, 2);
    expect([...taps.start]).toEqual([0, 1]);
    expect([...taps.count]).toEqual([3, 3]);
    const one = 2 ** 22;
    expect([...taps.weights[0]!].map((w) => w / one)).toEqual([3 / 7, 3 / 7, 1 / 7].map((w) => Math.round(w * one) / one));
    expect([...taps.weights[1]!].map((w) => w / one)).toEqual([1 / 7, 3 / 7, 3 / 7].map((w) => Math.round(w * one) / one));
  });

  it('resizes 4x2 -> 2x2 to the hand-computed values', () => {
    // Row [0, 70, 140, 210]: (0*3 + 70*3 + 140)/7 = 50, (70 + 140*3 + 210*3)/7 = 160.
    const out = resizeAntialias(grey([[0, 70, 140, 210], [7, 7, 7, 7]]), 2, 2);
    expect(channel0(out)).toEqual([[50, 160], [7, 7]]);
  });

  it('rounds to integers after the horizontal pass, like Pillow', () => {
    // 3 -> 2 on both axes: taps [0.625, 0.375] over samples 0..1 and [0.375, 0.625] over 1..2.
    // Row 0 = [0, 0, 1]: the horizontal pass gives 0.625 -> 1 at x=1; the vertical pass then gives
    // 0.625 * 1 -> 1. Without the intermediate rounding it would be 0.625 * 0.625 = 0.39 -> 0.
    const out = resizeAntialias(grey([[0, 0, 1], [0, 0, 0], [0, 0, 0]]), 2, 2);
    expect(channel0(out)).toEqual([[0, 1], [0, 0]]);
  });

  it('is the identity at scale 1 and averages a constant to itself', () => {
    const img = grey([[1, 2, 3], [4, 5, 6]]);
    expect(channel0(resizeAntialias(img, 3, 2))).toEqual([[1, 2, 3], [4, 5, 6]]);
    const flat = grey(Array.from({ length: 9 }, () => Array(13).fill(200)));
    expect(new Set(resizeAntialias(flat, 4, 3).data)).toEqual(new Set([200]));
  });

  it('clamps to 0..255', () => {
    const out = resizeAntialias(grey([[255, 255, 255, 255]]), 3, 1);
    expect(channel0(out)).toEqual([[255, 255, 255]]);
  });
});

describe('TF legacy bilinear', () => {
  it('samples src = dst * in / out with y1 = min(y0 + 1, in - 1)', () => {
    // 3 -> 4: src 0, 0.75, 1.5, 2.25 -> 0, 7.5, 15, 20 (the last clamps to the edge).
    expect(channel0(resizeBilinearTF(grey([[0, 10, 20]]), 4, 1))).toEqual([[0, 7.5, 15, 20]]);
    // 4x2 -> 2x2: x ratio 2 picks columns 0 and 2, y ratio 1 keeps rows.
    expect(channel0(resizeBilinearTF(grey([[0, 10, 20, 30], [40, 50, 60, 70]]), 2, 2))).toEqual([[0, 20], [40, 60]]);
    // 3x3 -> 2x2: ratio 1.5, output 1 sits halfway between source 1 and 2 on both axes.
    const img = grey([[0, 10, 20], [30, 40, 50], [60, 70, 80]]);
    expect(channel0(resizeBilinearTF(img, 2, 2))).toEqual([[0, 15], [45, 60]]);
  });

  it('does not antialias (a shrink by 4 picks every fourth pixel)', () => {
    const row = [100, 0, 0, 0, 100, 0, 0, 0];
    expect(channel0(resizeBilinearTF(grey([row]), 2, 1))).toEqual([[100, 100]]);
  });
});

describe('geometry', () => {
  it('centre offsets floor((outer - inner) / 2)', () => {
    expect(centreOffset(256, 224)).toBe(16);
    expect(centreOffset(341, 224)).toBe(58);
    expect(centreOffset(343, 224)).toBe(59); // torchvision's round-half-even would give 60
    expect(centreOffset(5, 3)).toBe(1);
  });

  it('short-side size truncates the long side like torchvision', () => {
    expect(shortSideSize(300, 200, 100)).toEqual({ width: 150, height: 100 });
    expect(shortSideSize(500, 375, 256)).toEqual({ width: 341, height: 256 });
    expect(shortSideSize(375, 500, 256)).toEqual({ width: 256, height: 341 });
    expect(shortSideSize(256, 256, 256)).toEqual({ width: 256, height: 256 });
  });
});
