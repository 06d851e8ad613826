// Depthwise convolution (qu8_dwconv_c16, packing qu8-dwconv-c16): SIMD == scalar twin == scalar
// build == the naive TS reference (test/kernels/ref.ts refConvAcc with group == channels), with
// guard bytes around every buffer, exact (0 LSB). Sweeps: channels 1..40 (the 16-lane blocks and
// every tail), kernels 3x3 / 5x5, strides 1 / 2, symmetric and asymmetric pads, images 1..9, batch.
import { beforeAll, describe as suite, expect, it } from 'vitest';
import { loadHarness, rng, randInt, type Harness } from './harness.js';
import { runConvCase, describe, type ConvCase } from './conv-case.js';
import { PACKING_DWCONV, PACKING_GEMM, packGeometry, planConv2d } from '../../src/kernels/index.js';
import { EdgeqError } from '../../src/errors.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

type Pads = [number, number, number, number];
const dw = (C: number, k: number, s: number, H: number, W: number, pads: Pads, rest: Partial<ConvCase> = {}): ConvCase => ({
  batch: 1, inH: H, inW: W, inC: C, outC: C, kh: k, kw: k, sh: s, sw: s, pads, dh: 1, dw: 1, group: C,
  act: 'none', f32out: false, seed: 1, packing: PACKING_DWCONV, ...rest,
});
const valid = (c: ConvCase) => c.inH + c.pads[0] + c.pads[2] >= c.kh && c.inW + c.pads[1] + c.pads[3] >= c.kw;

suite('depthwise qu8_dwconv_c16', () => {
  it('is the default packing for group == channels > 1, not for 1 channel or multiplier 2', () => {
    expect(packGeometry({ outChannels: 32, inChannels: 32, kernel: [3, 3], group: 32 }).packing).toBe(PACKING_DWCONV);
    expect(planConv2d({ batch: 1, inH: 8, inW: 8, inChannels: 32, outChannels: 32, kernel: [3, 3], group: 32 }).strategy).toBe('dwconv');
    expect(packGeometry({ outChannels: 1, inChannels: 1, kernel: [3, 3], group: 1 }).packing).not.toBe(PACKING_DWCONV);
    expect(packGeometry({ outChannels: 64, inChannels: 32, kernel: [3, 3], group: 32 }).packing).toBe(PACKING_GEMM);
    expect(() => packGeometry({ outChannels: 64, inChannels: 32, kernel: [3, 3], group: 32 }, PACKING_DWCONV)).toThrow(EdgeqError);
    // 40 channels, 3x3: 3 blocks of 128 + 9 * 32 bytes.
    expect(packGeometry({ outChannels: 40, inChannels: 40, kernel: [3, 3], group: 40 })).toMatchObject({ nBlocks: 3, blockBytes: 416, bytes: 1248 });
  });

  it('channels 1..40 x kernel 3/5 x stride 1/2 x pads, every activation, batch 1/2', () => {
    let seed = 100;
    const acts = ['none', 'relu', 'leaky'] as const;
    for (let C = 1; C <= 40; C++) {
      for (const k of [3, 5]) for (const s of [1, 2]) {
        const p = k >> 1;
        const pads: Pads = (C + k + s) % 3 === 0 ? [0, 0, 0, 0] : (C + s) % 3 === 1 ? [p, p, p, p] : [p, 0, 1, p];
        const c = dw(C, k, s, 4 + (C % 6), 3 + ((C + k) % 7), pads, { act: acts[C % 3]!, batch: 1 + (C & 1), seed: seed++ });
        if (!valid(c)) continue;
        expect(runConvCase(h, c).strategy, describe(c)).toBe('dwconv');
      }
    }
  });

  it('image sizes 1..9 (H x W), kernels 3/5, strides 1/2, channel counts at the block edges', () => {
    let seed = 2000;
    for (const C of [2, 15, 16, 17, 32, 33]) for (const k of [3, 5]) for (const s of [1, 2]) {
      for (let H = 1; H <= 9; H++) {
        const W = 1 + ((H * 3 + C) % 9);
        const p = k >> 1;
        const c = dw(C, k, s, H, W, [p, p, p, p], { act: 'relu', seed: seed++ });
        if (valid(c)) runConvCase(h, c);
      }
    }
  });

  it('outputs: uint8, 12-bit in/out, float32, fused residual (u8 / 12-bit), ties, saturation, maxima below the type\'s', () => {
    let seed = 3000;
    for (const C of [8, 16, 24, 37]) {
      for (const rest of [
        { in12: true }, { out12: true }, { in12: true, out12: true }, { f32out: true }, { f32out: true, act: 'relu' as const },
        { residual: true }, { residual: true, res12: true, act: 'leaky' as const }, { in12: true, out12: true, residual: true, res12: true },
        { wlim: 1, mult: 0.5, noBias: true }, { mult: 0.05 },
        { ceil: 30, act: 'relu' as const }, { ceil: 200, out12: true }, { ceil: 12, residual: true },
      ]) {
        runConvCase(h, dw(C, 3, 1 + (seed & 1), 6, 5, [1, 1, 1, 1], { batch: 2, seed: seed++, ...rest }));
      }
    }
  });

  it('split into row parts (threads), in reverse order; dilation 2', () => {
    let seed = 4000;
    for (const parts of [2, 3, 5]) runConvCase(h, dw(48, 3, 1, 20, 20, [1, 1, 1, 1], { act: 'relu', seed: seed++, parts }));
    runConvCase(h, dw(24, 3, 1, 9, 9, [2, 2, 2, 2], { dh: 2, dw: 2, seed: seed++ }));
  });

  it('30 random shapes against the grouped GEMM packing of the same weights', () => {
    const r = rng(777);
    for (let i = 0; i < 30; i++) {
      const C = randInt(r, 1, 70), k = [3, 5][randInt(r, 0, 1)]!, s = randInt(r, 1, 2);
      const pads = [0, 0, 0, 0].map(() => randInt(r, 0, k >> 1)) as Pads;
      const c = dw(C, k, s, randInt(r, 1, 9), randInt(r, 1, 9), pads, { batch: randInt(r, 1, 2), act: (['none', 'relu', 'leaky'] as const)[randInt(r, 0, 2)]!, seed: 5000 + i });
      if (!valid(c)) continue;
      runConvCase(h, c);
      runConvCase(h, { ...c, packing: PACKING_GEMM });
    }
  });
});
