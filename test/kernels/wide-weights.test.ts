// int16 weights in [-255, 255] (uint8 weights minus a zero point): the -w16 GEMM / IGEMM / im2col
// packings (qu8-gemm-2x4c8-w16, qu8-gemm-2x4c8-im2col-w16: int8 blocks + outliers in the file,
// expanded to int16 blocks for the kernels) and qu8-dwconv-c16 with wide values.
// Every case: SIMD == its scalar twin (*_ref) == the scalar build == the naive TS reference
// (test/kernels/ref.ts refConvAcc), bit-exact, guard bytes around every buffer. Sweeps over M, N,
// K, taps, strides, pads, groups, the 2x4 tile's edges, every output kind, and the range's extremes
// (every weight at -255 / 255 with every activation at 255).
import { beforeAll, describe as suite, expect, it } from 'vitest';
import { loadHarness, type Harness } from './harness.js';
import { runConvCase, describe, type ConvCase } from './conv-case.js';
import {
  PACKING_DWCONV, PACKING_GEMM, PACKING_GEMM_W16, PACKING_IM2COL, PACKING_IM2COL_W16, expandWideWeights, packConv, packGeometry, planConv2d,
  relaxedEligible, winogradEligible,
} from '../../src/kernels/index.js';
import { EdgeqError } from '../../src/errors.js';

let h: Harness;
beforeAll(async () => { h = await loadHarness(); });

type Pads = [number, number, number, number];
const P0: Pads = [0, 0, 0, 0];
const base = { batch: 1, dh: 1, dw: 1, group: 1, act: 'none', f32out: false, seed: 1, wlim: 255 } as const;

suite('int16 weights: layout choice', () => {
  it('the packer picks -w16 exactly when a weight leaves int8, and the int8 bytes are unchanged otherwise', () => {
    const d = { outChannels: 5, inChannels: 3, kernel: [1, 1] as const, group: 1 };
    const w8 = Int8Array.from({ length: 15 }, (_, i) => (i * 37) % 256 - 128);
    const common = { ...d, multipliers: new Float32Array(5).fill(0.01), inputZeroPoint: 7 };
    const narrow = packConv({ ...common, weights: w8 });
    expect(narrow.packing).toBe(PACKING_GEMM);
    // The same values as int16: the same packing and the same bytes.
    expect(packConv({ ...common, weights: Int16Array.from(w8) })).toEqual(narrow);
    const w16 = Int16Array.from(w8); w16[4] = 200;
    const wide = packConv({ ...common, weights: w16 });
    expect(wide.packing).toBe(PACKING_GEMM_W16);
    // The file holds the int8 blocks (2 of 16 + 32 + 16 bytes) with 200's byte 0, then 1 outlier:
    // u32 count, u32 position (block 0, channel 1, K 1: 16 + 8 + 1 = 25), i32 value.
    expect(wide.blob.length).toBe(2 * 64 + 4 + 8);
    const dv = new DataView(wide.blob.buffer);
    expect(wide.blob[25]).toBe(0);
    expect([dv.getUint32(128, true), dv.getUint32(132, true), dv.getInt32(136, true)]).toEqual([1, 25, 200]);
    expect(Array.from(wide.blob.subarray(0, 128)).map((b, i) => (i === 25 || i < 16 ? 0 : b))).toEqual(Array.from(narrow.blob).map((b, i) => (i === 25 || i < 16 ? 0 : b)));
    // The kernels' layout: i16 w[4][8] per k-block (64 bytes), channel 1's weights at 16 + (8 + i) * 2.
    const g = packGeometry(d, PACKING_GEMM_W16);
    expect(g).toMatchObject({ wide: true, blockBytes: 32 + 64, bytes: 2 * 96, storedBlockBytes: 64, storedBytes: 128 });
    const mem = new DataView(expandWideWeights(wide.blob, g).buffer);
    expect([0, 1, 2].map((i) => mem.getInt16(16 + (8 + i) * 2, true))).toEqual([w16[3], 200, w16[5]]);
    expect(mem.getInt16(16 + (8 + 3) * 2, true)).toBe(0); // K padding
    // Bias fold over the int16 values: bias - zx * sum(w); multipliers at the block's end.
    expect(mem.getInt32(4, true)).toBe(-7 * (w16[3]! + 200 + w16[5]!));
    expect(mem.getFloat32(96 - 16, true)).toBe(Math.fround(0.01));
  });

  it('stem shapes take the im2col form, depthwise keeps qu8-dwconv-c16; geometry and bounds', () => {
    const stem = { outChannels: 8, inChannels: 3, kernel: [3, 3] as const, group: 1 };
    const w = new Int16Array(8 * 27).fill(-255);
    const p = packConv({ ...stem, weights: w, multipliers: new Float32Array(8).fill(1), inputZeroPoint: 0 });
    expect(p.packing).toBe(PACKING_IM2COL_W16);
    expect(packGeometry(stem, PACKING_IM2COL_W16)).toMatchObject({ im2col: true, wide: true, taps: 1, KB: 4, blockBytes: 32 + 4 * 64, storedBlockBytes: 32 + 4 * 32 });
    expect(packGeometry(stem, PACKING_GEMM_W16)).toMatchObject({ im2col: false, wide: true, taps: 9, KB: 1, blockBytes: 32 + 9 * 64, storedBlockBytes: 32 + 9 * 32 });
    // Every weight -255: all 8 * 27 are outliers.
    expect(p.blob.length).toBe(2 * (32 + 4 * 32) + 4 + 8 * 8 * 27);
    const dwd = { outChannels: 16, inChannels: 16, kernel: [3, 3] as const, group: 16 };
    expect(packConv({ ...dwd, weights: new Int16Array(16 * 9).fill(255), multipliers: new Float32Array(16).fill(1), inputZeroPoint: 0 }).packing).toBe(PACKING_DWCONV);
    // Out of range for the layout: 256 anywhere, or a wide value forced into an int8 packing.
    const bad = (weights: Int16Array, packing?: string, dd = stem) => () => packConv({ ...dd, weights, packing, multipliers: new Float32Array(dd.outChannels).fill(1), inputZeroPoint: 0 });
    expect(bad(new Int16Array(8 * 27).fill(256))).toThrow(expect.objectContaining({ code: 'BAD_SHAPE', message: expect.stringContaining('outside [-255, 255]') }));
    expect(bad(new Int16Array(16 * 9).fill(-256), undefined, dwd)).toThrow(/outside \[-255, 255\] of packing qu8-dwconv-c16/);
    expect(bad(new Int16Array(8 * 27).fill(130), PACKING_IM2COL)).toThrow(/outside \[-128, 127\] of packing qu8-gemm-2x4c8-im2col/);
    expect(() => packGeometry({ outChannels: 8, inChannels: 8, kernel: [3, 3], group: 2 }, PACKING_IM2COL_W16)).toThrow(EdgeqError);
  });

  it('the relaxed kernels and Winograd refuse the -w16 packings (the planner keeps the i16 kernels)', () => {
    const shape = { batch: 1, inH: 8, inW: 8, inChannels: 32, outChannels: 32, kernel: [3, 3] as const, pads: [1, 1, 1, 1] as Pads };
    expect(relaxedEligible(planConv2d(shape, PACKING_GEMM), 'uint8')).toBe(true);
    expect(relaxedEligible(planConv2d(shape, PACKING_GEMM_W16), 'uint8')).toBe(false);
    expect(relaxedEligible(planConv2d({ ...shape, kernel: [1, 1], pads: P0 }, PACKING_GEMM_W16), 'uint8')).toBe(false);
    expect(winogradEligible(shape, PACKING_GEMM)).toBe(true);
    expect(winogradEligible(shape, PACKING_GEMM_W16)).toBe(false);
  });
});

suite('int16 weights: GEMM (1x1) sweep', () => {
  const Ms = [1, 2, 3, 5, 17];
  const Ns = [1, 3, 4, 5, 8, 17];
  const Ks = [1, 7, 8, 9, 16, 33];
  it(`M x N x K over ${Ms.length * Ns.length * Ks.length} sizes`, () => {
    let seed = 5100;
    for (const M of Ms) for (const N of Ns) for (const K of Ks) {
      const c: ConvCase = { ...base, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, act: (['none', 'relu', 'leaky'] as const)[seed % 3]! };
      expect(runConvCase(h, c).strategy, describe(c)).toBe('gemm');
    }
  });
});

const shapes: Omit<ConvCase, 'act' | 'f32out' | 'seed' | 'dh' | 'dw' | 'batch'>[] = [
  { inH: 5, inW: 6, inC: 8, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 7, inW: 5, inC: 5, outC: 7, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 4, inW: 4, inC: 17, outC: 33, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  { inH: 9, inW: 8, inC: 16, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], group: 1 },
  { inH: 8, inW: 9, inC: 7, outC: 9, kh: 3, kw: 3, sh: 2, sw: 2, pads: [0, 1, 1, 0], group: 1 },
  { inH: 5, inW: 5, inC: 3, outC: 4, kh: 3, kw: 2, sh: 1, sw: 2, pads: [0, 2, 1, 0], group: 1 },
  // stems: 3 input channels (im2col-w16), more than one im2col block of 128 rows
  { inH: 15, inW: 13, inC: 3, outC: 16, kh: 7, kw: 7, sh: 2, sw: 2, pads: [3, 3, 3, 3], group: 1 },
  { inH: 17, inW: 17, inC: 3, outC: 8, kh: 3, kw: 3, sh: 2, sw: 2, pads: [0, 0, 1, 1], group: 1 },
  { inH: 30, inW: 20, inC: 3, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
  // strided 1x1 (gathered), padded 1x1, groups, 5x5, dilation
  { inH: 8, inW: 7, inC: 16, outC: 32, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, group: 1 },
  { inH: 4, inW: 4, inC: 5, outC: 6, kh: 1, kw: 1, sh: 1, sw: 1, pads: [1, 0, 0, 1], group: 1 },
  { inH: 6, inW: 5, inC: 12, outC: 20, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], group: 4 },
  { inH: 5, inW: 5, inC: 18, outC: 9, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, group: 3 },
  { inH: 9, inW: 9, inC: 9, outC: 11, kh: 5, kw: 5, sh: 2, sw: 2, pads: [2, 2, 2, 2], group: 1 },
];

suite('int16 weights: IGEMM / im2col / grouped shapes', () => {
  it(`${shapes.length} shapes x outputs (u8, f32, fused residual, LeakyReLU, HardSwish)`, () => {
    let seed = 5300;
    const kinds: Partial<ConvCase>[] = [
      { act: 'relu' }, { act: 'none', f32out: true }, { act: 'leaky', residual: true }, { act: 'hardswish' }, { act: 'none', batch: 2 },
    ];
    for (const s of shapes) for (const k of kinds) {
      const c: ConvCase = { ...base, ...s, act: 'none', ...k, seed: seed++ };
      runConvCase(h, c);
    }
  });

  it('forced layouts: per-tap -w16 on a stem, im2col-w16, and dilation 2', () => {
    let seed = 5400;
    for (const packing of [PACKING_GEMM_W16, PACKING_IM2COL_W16]) {
      runConvCase(h, { ...base, inH: 11, inW: 9, inC: 3, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], act: 'relu', packing, seed: seed++ });
      runConvCase(h, { ...base, inH: 6, inW: 7, inC: 5, outC: 9, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'leaky', packing, seed: seed++ });
    }
    // int8-range values in a -w16 layout are exact too.
    runConvCase(h, { ...base, wlim: 127, inH: 6, inW: 6, inC: 16, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], packing: PACKING_GEMM_W16, seed: seed++ });
    runConvCase(h, { ...base, inH: 9, inW: 9, inC: 8, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [2, 2, 2, 2], dh: 2, dw: 2, seed: seed++ });
  });

  it('12-bit activations (in, out, residual) and split parts (rows and channel blocks)', () => {
    let seed = 5500;
    for (const s of shapes.slice(0, 8)) {
      runConvCase(h, { ...base, ...s, act: 'relu', in12: true, out12: true, seed: seed++ });
      runConvCase(h, { ...base, ...s, act: 'none', residual: true, res12: true, seed: seed++ });
    }
    runConvCase(h, { ...base, inH: 16, inW: 16, inC: 64, outC: 64, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'relu', parts: 4, seed: seed++ });
    runConvCase(h, { ...base, inH: 2, inW: 2, inC: 256, outC: 256, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'none', parts: 3, seed: seed++ });
    runConvCase(h, { ...base, inH: 12, inW: 12, inC: 16, outC: 24, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'relu', parts: 3, seed: seed++ });
  });

  it('extremes: every weight -255 or 255, every activation 255 (zero point 0) and 0 (zero point 255); K up to 1280', () => {
    let seed = 5600;
    for (const [K, N, M] of [[8, 4, 2], [9, 5, 3], [64, 8, 4], [1280, 8, 3], [33, 17, 5]] as const) {
      for (const xfill of [{ x: 255, zin: 0 }, { x: 0, zin: 255 }]) {
        // Multiplier small enough that the output stays in range: the accumulator itself is compared (f32 out).
        runConvCase(h, { ...base, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, f32out: true, wext: true, xfill, noBias: true, mult: 1, seed: seed++ });
        runConvCase(h, { ...base, inH: 3, inW: M, inC: K, outC: N, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'relu', wext: true, xfill, seed: seed++ });
      }
    }
    // 12-bit: 4095 x 255 per product.
    runConvCase(h, { ...base, inH: 2, inW: 3, inC: 40, outC: 6, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, f32out: true, in12: true, wext: true, xfill: { x: 4095, zin: 0 }, noBias: true, mult: 1, seed: seed++ });
  });
});

suite('int16 weights: depthwise qu8_dwconv_c16 with values in [-255, 255]', () => {
  const dw = (C: number, k: number, s: number, H: number, W: number, pads: Pads, rest: Partial<ConvCase> = {}): ConvCase => ({
    ...base, inH: H, inW: W, inC: C, outC: C, kh: k, kw: k, sh: s, sw: s, pads, group: C, ...rest,
  });
  it('channels 1..40 (block tails) x kernel 3/5 x stride 1/2, outputs and activations', () => {
    let seed = 5700;
    const kinds: Partial<ConvCase>[] = [{ act: 'relu' }, { act: 'leaky' }, { act: 'none', f32out: true }, { act: 'none', residual: true }, { act: 'relu', in12: true, out12: true }];
    for (let C = 1; C <= 40; C++) for (const k of [3, 5]) for (const s of [1, 2]) {
      const p = k >> 1;
      const c = dw(C, k, s, 4 + (C % 5), 3 + ((C + k) % 6), C % 2 ? [p, p, p, p] : [p, 0, 1, p], { ...kinds[(C + k + s) % kinds.length], seed: seed++, packing: C === 1 ? PACKING_DWCONV : undefined });
      expect(runConvCase(h, c).strategy, describe(c)).toBe('dwconv');
    }
  });
  it('extremes: every weight -255 or 255 with activations 255, 5x5 (25 taps)', () => {
    let seed = 5800;
    for (const C of [7, 16, 33]) {
      runConvCase(h, dw(C, 5, 1, 6, 6, [2, 2, 2, 2], { f32out: true, wext: true, xfill: { x: 255, zin: 0 }, noBias: true, mult: 1, seed: seed++ }));
      runConvCase(h, dw(C, 3, 2, 7, 7, [1, 1, 1, 1], { act: 'relu', wext: true, xfill: { x: 0, zin: 255 }, seed: seed++ }));
    }
  });
});
