// qu8_dwconv_c16 accumulates taps in pairs (i32x4.dot_i16x8_s on interleaved taps) and an odd last
// tap alone: every tap count parity, through SIMD == scalar twin == scalar build == the naive TS
// reference, exact (0 LSB), with guard bytes. Kernels 1x1 .. 7x7 and non-square ones, channel
// counts on and off the 16-lane blocks, uint8 and 12-bit inputs, widths 1..9, batch 2.
import { beforeAll, describe as suite, expect, it } from 'vitest';
import { loadHarness, type Harness } from './harness.js';
import { runConvCase, describe, type ConvCase } from './conv-case.js';
import { PACKING_DWCONV } from '../../src/kernels/index.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

type Pads = [number, number, number, number];
const dw = (C: number, kh: number, kw: number, s: number, H: number, W: number, pads: Pads, rest: Partial<ConvCase>): ConvCase => ({
  batch: 2, inH: H, inW: W, inC: C, outC: C, kh, kw, sh: s, sw: s, pads, dh: 1, dw: 1, group: C,
  act: 'relu', f32out: false, seed: 1, packing: PACKING_DWCONV, ...rest,
});

suite('depthwise qu8_dwconv_c16: tap pairs and the odd last tap', () => {
  it('taps 1, 2, 3, 4, 6, 9, 15, 25, 49 x channels 16 / 24 / 33 / 48 x uint8 / 12-bit input x stride 1 / 2', () => {
    let seed = 9000, n = 0;
    const kernels: [number, number][] = [[1, 1], [1, 2], [3, 1], [2, 2], [2, 3], [3, 3], [3, 5], [5, 5], [7, 7]];
    for (const [kh, kw] of kernels) for (const C of [16, 24, 33, 48]) for (const in12 of [false, true]) for (const s of [1, 2]) {
      const W = 1 + (seed % 9);
      const pads: Pads = [kh >> 1, kw >> 1, (kh - 1) >> 1, (kw - 1) >> 1];
      const c = dw(C, kh, kw, s, 2 + (seed % 5), W, pads, { in12, out12: in12 && (seed & 1) === 1, seed: seed++ });
      if (c.inH + pads[0] + pads[2] < kh || c.inW + pads[1] + pads[3] < kw) continue;
      expect(runConvCase(h, c).strategy, describe(c)).toBe('dwconv');
      n++;
    }
    expect(n).toBe(kernels.length * 16);
  });

  it('extreme values: activations 0 / max and weights +-127 over 25 taps do not overflow the pairs', () => {
    let seed = 9500;
    for (const in12 of [false, true]) for (const C of [16, 40]) {
      runConvCase(h, dw(C, 5, 5, 1, 6, 7, [2, 2, 2, 2], { in12, wlim: 127, mult: 0.5 / (25 * 127 * (in12 ? 4095 : 255)), seed: seed++, act: 'none' }));
    }
  });
});
