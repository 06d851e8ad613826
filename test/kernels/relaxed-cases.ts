// The relaxed kernels' sweep (qu8_[i]gemm_relaxed_2x4c16: relaxedEligible() shapes only, odd and even KB;
// qu8_dwconv_relaxed_c16x4: depthwise shapes of 4 taps or more, dwconvRelaxedCases),
// shared by test/kernels/relaxed.test.ts (this process) and test/kernels/relaxed-sweep.deno.ts
// (under Deno, whose relaxed dot is exact on this machine's VNNI).
import type { RelaxedDotMode } from '../../src/kernels/relaxed.js';
import type { ConvCase } from './conv-case.js';

const P0: [number, number, number, number] = [0, 0, 0, 0];
const base = { batch: 1, dh: 1, dw: 1, group: 1, act: 'none', f32out: false } as const;

/** Every case for one lowering; act7: activations in 0..127 (exact in every lowering of u8xs8). */
export function relaxedCases(mode: RelaxedDotMode, act7: boolean): ConvCase[] {
  const out: ConvCase[] = [];
  let seed = mode === 'u8xs8' ? 5000 : 7000;
  // 1x1 GEMM: M x N x K (K 9..16 pad to 16, reading up to 7 bytes past the channels; K 3 and 24:
  // an odd KB, the last 8 K of each tap in an 8-K step).
  for (const M of [1, 2, 3, 5, 17]) for (const N of [1, 3, 4, 5, 8, 17, 33]) for (const K of [3, 9, 16, 24, 32, 48, 64]) {
    out.push({ ...base, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7 });
  }
  const shapes: Omit<ConvCase, 'act' | 'f32out' | 'seed' | 'dh' | 'dw' | 'batch'>[] = [
    { inH: 5, inW: 6, inC: 16, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
    { inH: 4, inW: 4, inC: 32, outC: 33, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
    { inH: 6, inW: 5, inC: 64, outC: 5, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
    { inH: 9, inW: 8, inC: 16, outC: 12, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1], group: 1 },
    { inH: 8, inW: 8, inC: 48, outC: 3, kh: 3, kw: 3, sh: 2, sw: 1, pads: [2, 0, 0, 1], group: 1 },
    { inH: 8, inW: 7, inC: 16, outC: 32, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, group: 1 }, // gathered 1x1 -> one-tap IGEMM
    { inH: 4, inW: 4, inC: 13, outC: 6, kh: 1, kw: 1, sh: 1, sw: 1, pads: [1, 0, 0, 1], group: 1 },
    { inH: 6, inW: 6, inC: 32, outC: 8, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 2 },
    { inH: 5, inW: 5, inC: 48, outC: 9, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, group: 3 },
    { inH: 9, inW: 9, inC: 16, outC: 11, kh: 5, kw: 5, sh: 2, sw: 2, pads: [2, 2, 2, 2], group: 1 },
    // Odd KB per tap (1, 3, 5): 24 and 40 channels, a gathered 1x1 on 8, groups of 8.
    { inH: 5, inW: 6, inC: 24, outC: 9, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 1 },
    { inH: 6, inW: 5, inC: 40, outC: 5, kh: 3, kw: 3, sh: 2, sw: 1, pads: [1, 0, 1, 1], group: 1 },
    { inH: 8, inW: 7, inC: 8, outC: 12, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, group: 1 },
    { inH: 5, inW: 5, inC: 16, outC: 6, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], group: 2 },
  ];
  const acts = [
    { act: 'none', f32out: false }, { act: 'relu', f32out: false }, { act: 'leaky', f32out: false },
    { act: 'none', f32out: true }, { act: 'relu', f32out: true },
  ] as const;
  for (const s of shapes) for (const a of acts) for (const batch of [1, 2]) {
    out.push({ ...s, ...a, batch, dh: 1, dw: 1, seed: seed++, relaxed: mode, act7 });
  }
  // Fused residual (u8 and 12-bit output / residual), threads' parts, extreme weights and ties.
  out.push({ ...base, inH: 6, inW: 7, inC: 32, outC: 20, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'relu', seed: seed++, relaxed: mode, act7, residual: true });
  out.push({ ...base, inH: 6, inW: 7, inC: 32, outC: 20, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, residual: true, out12: true, res12: true });
  out.push({ ...base, inH: 12, inW: 11, inC: 64, outC: 40, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], seed: seed++, relaxed: mode, act7, parts: 5 });
  out.push({ ...base, inH: 12, inW: 11, inC: 64, outC: 40, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, seed: seed++, relaxed: mode, act7, parts: 3 });
  out.push({ ...base, inH: 3, inW: 5, inC: 256, outC: 8, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, wlim: 127, mult: 1 / 4096 });
  out.push({ ...base, inH: 3, inW: 5, inC: 200, outC: 8, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, wlim: 127, mult: 1 / 4096 });
  // A -w16 layer split between the relaxed and i16 kernels (wideRelaxedBlocks): wide blocks first,
  // last (partial), adjacent and apart; GEMM with an odd KB, IGEMM, a gathered 1x1, a residual, float32
  // output, and threads' parts (rows, and channel blocks cut again at the wide blocks).
  const gemm = { ...base, inH: 3, inW: 5, inC: 24, outC: 21, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0 };
  for (const wideIn of [[0], [20], [5, 9], [0, 13, 20]]) out.push({ ...gemm, seed: seed++, relaxed: mode, act7, wideIn });
  out.push({ ...base, inH: 5, inW: 6, inC: 16, outC: 33, kh: 3, kw: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], act: 'relu', seed: seed++, relaxed: mode, act7, wideIn: [4, 31] });
  out.push({ ...base, inH: 8, inW: 7, inC: 16, outC: 32, kh: 1, kw: 1, sh: 2, sw: 2, pads: P0, seed: seed++, relaxed: mode, act7, wideIn: [7] });
  out.push({ ...base, inH: 6, inW: 7, inC: 32, outC: 20, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, act: 'relu', seed: seed++, relaxed: mode, act7, residual: true, wideIn: [10] });
  out.push({ ...gemm, f32out: true, seed: seed++, relaxed: mode, act7, wideIn: [2, 11] });
  out.push({ ...base, inH: 12, inW: 11, inC: 64, outC: 40, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, parts: 5, wideIn: [3, 17, 38] });
  out.push({ ...base, inH: 2, inW: 3, inC: 256, outC: 128, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, parts: 8, wideIn: [1, 60, 61, 127] });
  // The flattened im2col layout (qu8_conv_im2col_relaxed_2x4c16): RGB stems 3x3 / 7x7 (K 27, 147:
  // odd KB), more than one block of gathered rows (IM2COL_ROWS = 128), and -w16 stems split at
  // their wide blocks (first, last, runs) inside the kernel; outputs, residual, parts.
  const stem = { ...base, inH: 9, inW: 10, inC: 3, outC: 32, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] as [number, number, number, number] };
  for (const rest of [{}, { act: 'relu' as const, batch: 2 }, { f32out: true }, { out12: true }, { residual: true }, { parts: 3 }, { inH: 22, inW: 21, sh: 1, sw: 1 }]) {
    out.push({ ...stem, seed: seed++, relaxed: mode, act7, ...rest });
  }
  out.push({ ...stem, inH: 16, inW: 15, outC: 10, kh: 7, kw: 7, pads: [3, 3, 3, 3], seed: seed++, relaxed: mode, act7 });
  out.push({ ...stem, inC: 5, outC: 9, seed: seed++, relaxed: mode, act7 });
  for (const wideIn of [[31], [0], [5, 6, 7, 20], [0, 31]]) out.push({ ...stem, seed: seed++, relaxed: mode, act7, wideIn });
  out.push({ ...stem, inH: 22, inW: 21, sh: 1, sw: 1, seed: seed++, relaxed: mode, act7, wideIn: [13], parts: 4 });
  out.push({ ...stem, seed: seed++, relaxed: mode, act7, wideIn: [2, 30], residual: true, act: 'relu' });
  out.push({ ...stem, outC: 8, seed: seed++, relaxed: mode, act7, wideIn: [6], f32out: true });
  out.push(...dwconvRelaxedCases(mode, act7));
  out.push(...gemmC4Cases(mode, act7));
  return out;
}

/**
 * 1x1 GEMMs on qu8_gemm_relaxed_4x8c4: rows across the 4-row tile (4..33, edges 1-3), channels
 * across the 8-channel block (partial last blocks), K from one quad up (K % 4 != 0: a zero-padded
 * last quad); weights int8 (no offsets), a uint8 per-tensor scheme (every channel on an offset,
 * span 254, zero points at both ends), int8 extremes; activations, batch, threads' parts by rows
 * and by 8-channel blocks; and RGB stems on the im2col form.
 */
export function gemmC4Cases(mode: RelaxedDotMode, act7: boolean): ConvCase[] {
  const out: ConvCase[] = [];
  let seed = mode === 'u8xs8' ? 13000 : 15000;
  const g = (M: number, K: number, N: number, rest: Partial<ConvCase> = {}): ConvCase => ({
    ...base, inH: 1, inW: M, inC: K, outC: N, kh: 1, kw: 1, sh: 1, sw: 1, pads: P0, seed: seed++, relaxed: mode, act7, c4: true, ...rest,
  });
  for (const M of [1, 2, 3, 4, 5, 7, 9, 17]) for (const N of [1, 7, 8, 9, 17, 40]) for (const K of [3, 4, 8, 13, 32, 64]) out.push(g(M, K, N));
  // A fully connected layer's one row (gemmC4Row: odd and even quad counts, offsets, activations).
  for (const [K, rest] of [[256, { wu8: 128, mult: 1 / 65536 }], [255, { wu8: 3 }], [1024, { act: 'relu' as const, mult: 1 / 65536 }], [36, { act: 'hardswish' as const }]] as const) {
    out.push(g(1, K, 1001, rest));
  }
  out.push(g(1, 256, 1001, { wu8: 128, mult: 1 / 65536, parts: 3 }));
  // Sparse corrections (C4_FLAG_CORRECTIONS): a few weights outside [-127, 127] (+-128, +-200,
  // +-254; several in one channel; 8 in one block, the most it holds), first and last K, one row
  // (gemmC4Row), the stem's im2col form, activations; 9 in one block take offsets instead (weights
  // within +-20 there, so that the channels' spans fit one).
  const at = (list: [number, number, number][]) => ({ wideAt: list });
  for (const rest of [
    at([[0, 0, -128]]), at([[3, 7, 200], [3, 2, -254], [12, 23, 128]]), at([[8, 0, 254], [9, 1, -200], [10, 2, 150], [11, 3, -150], [12, 4, 130], [13, 5, -130], [14, 6, 140], [15, 23, -140]]),
    { ...at([[1, 5, -128], [17, 0, 131]]), act: 'relu' as const, ceil: 90 }, { ...at([[2, 9, 201]]), act: 'hardswish' as const },
    { ...at([[8, 0, 140], [9, 1, -135], [10, 2, 150], [11, 3, -150], [12, 4, 130], [13, 5, -130], [14, 6, 140], [15, 23, 140], [15, 22, 129]]), wlim: 20 },
  ]) {
    for (const M of [1, 5, 12]) out.push(g(M, 24, 20, rest));
  }
  // Output maxima below 255 (the upper clamp on the narrowed bytes), with ReLU's lower one.
  for (const [M, ceil] of [[1, 3], [9, 40], [17, 100]]) out.push(g(M, 40, 24, { ceil, act: 'relu' }), g(M, 24, 9, { ceil, wu8: 120 }));
  for (const wu8 of [0, 1, 77, 128, 200, 255]) for (const [M, K, N] of [[6, 8, 16], [9, 24, 9], [17, 128, 33]]) out.push(g(M, K, N, { wu8 }));
  out.push(g(12, 48, 24, { wlim: 127, wext: true, mult: 1 / 4096 }));
  out.push(g(13, 256, 20, { wu8: 90, mult: 1 / 65536 }));
  for (const rest of [
    { act: 'relu' as const }, { act: 'leaky' as const }, { act: 'hardswish' as const }, { act: 'sigmoid' as const, wu8: 128 },
    { batch: 2, inH: 3, inW: 5 }, { parts: 3 }, { parts: 5, wu8: 100 }, { inW: 6, outC: 64, parts: 4 },
  ]) {
    out.push(g(11, 40, 37, rest));
  }
  // The flattened im2col layout on qu8_conv_im2col_relaxed_4x8c4: RGB stems 3x3 / 7x7 (K 27, 147),
  // more than one block of gathered rows (IM2COL_ROWS = 128), 5 channels, uint8-scheme weights,
  // activations, batch, parts.
  const stem = { ...base, inH: 9, inW: 10, inC: 3, outC: 32, kh: 3, kw: 3, sh: 2, sw: 2, pads: [1, 1, 1, 1] as [number, number, number, number], relaxed: mode, act7, c4: true };
  for (const rest of [
    {}, { act: 'relu' as const, batch: 2 }, { inH: 22, inW: 21, sh: 1, sw: 1 }, { inH: 22, inW: 21, sh: 1, sw: 1, parts: 3, wu8: 140 },
    { outC: 8, wu8: 0 }, { outC: 13, wu8: 255, act: 'leaky' as const }, { inC: 5, outC: 9 }, { parts: 2, outC: 40 },
    { inH: 16, inW: 15, outC: 10, kh: 7, kw: 7, pads: [3, 3, 3, 3] as [number, number, number, number], wu8: 60 },
    // Kernel rows gathered as one window where their pixels are contiguous: TFLite's SAME padding
    // (bottom / right only), dilation (never contiguous), 1 and 6 channels (window of 3 and 18
    // bytes), 5x5 and 3x1 kernels, a 3x3 stem of 129 rows (a second block of gathered rows).
    { inH: 16, inW: 16, pads: [0, 0, 1, 1] as [number, number, number, number], wu8: 120 },
    { inH: 13, inW: 14, sh: 1, sw: 1, dh: 2, dw: 2, pads: [2, 2, 2, 2] as [number, number, number, number] },
    { inC: 1, outC: 16 }, { inC: 6, outC: 12, wu8: 30 },
    { inH: 12, inW: 11, outC: 8, kh: 5, kw: 5, sh: 1, sw: 1, pads: [2, 2, 2, 2] as [number, number, number, number] },
    { inH: 10, inW: 9, kh: 3, kw: 1, sh: 1, sw: 1, pads: [1, 0, 1, 0] as [number, number, number, number] },
    { inH: 43, inW: 6, sh: 1, sw: 1, outC: 8 },
  ]) {
    out.push({ ...stem, seed: seed++, ...rest });
  }
  // The stem with sparse corrections (at(): above).
  out.push({ ...stem, seed: seed++, ...at([[0, 0, -128], [0, 26, 254], [5, 13, -200]]) });
  out.push({ ...stem, seed: seed++, inH: 16, inW: 16, pads: [0, 0, 1, 1] as [number, number, number, number], ...at([[31, 3, 129]]), parts: 3 });
  return out;
}

/**
 * Depthwise layers on qu8_dwconv_relaxed_c16x4: channels across the 16-lane blocks and every tail
 * (8-lane step, relaxed or wide, per-channel rest), tap counts 4..25 (whole groups of four and 1-3 i16 taps after
 * them), strides, pads, dilation; wide blocks (a weight outside [-127, 127], -128 included) first,
 * last and between relaxed ones; every output kind, fused residual, activations, threads' parts.
 */
export function dwconvRelaxedCases(mode: RelaxedDotMode, act7: boolean): ConvCase[] {
  const out: ConvCase[] = [];
  let seed = mode === 'u8xs8' ? 9000 : 11000;
  const dw = (C: number, kh: number, kw: number, s: number, H: number, W: number, pads: [number, number, number, number], rest: Partial<ConvCase> = {}): ConvCase => ({
    ...base, inH: H, inW: W, inC: C, outC: C, kh, kw, sh: s, sw: s, pads, group: C, seed: seed++, relaxed: mode, act7, ...rest,
  });
  for (const C of [2, 8, 15, 16, 17, 24, 31, 32, 40, 48]) {
    for (const [kh, kw] of [[2, 2], [1, 5], [2, 3], [3, 3], [3, 4], [5, 5]] as const) {
      for (const s of [1, 2]) {
        const ph = kh >> 1, pw = kw >> 1;
        out.push(dw(C, kh, kw, s, 5 + (C % 5), 5 + ((C + kh) % 4), (C + s) % 3 === 0 ? P0 : [ph, pw, ph, pw], { act: (['none', 'relu', 'leaky'] as const)[(C + kh + s) % 3] }));
      }
    }
  }
  // Weights at the block kinds' edges: +-127 only (relaxed), -128 / 128 (split), +-254 only (split,
  // both parts at +-127), +-255 only (i16 steps); wide channels scattered (split or i16 blocks).
  out.push(dw(48, 3, 3, 1, 6, 6, [1, 1, 1, 1], { wlim: 127, wext: true, mult: 1 / 4096 }));
  out.push(dw(48, 3, 3, 1, 6, 6, [1, 1, 1, 1], { wlim: 128 }));
  out.push(dw(40, 3, 3, 1, 6, 6, [1, 1, 1, 1], { wlim: 254, wext: true, mult: 1 / 8192 }));
  out.push(dw(40, 5, 5, 1, 7, 6, [2, 2, 2, 2], { wlim: 255, wext: true, mult: 1 / 16384 }));
  for (const wideIn of [[0], [47], [5, 40], [16, 17, 33]]) out.push(dw(48, 3, 3, 1, 6, 7, [1, 1, 1, 1], { wlim: 127, wideIn, act: 'relu' }));
  out.push(dw(40, 5, 5, 2, 9, 9, [2, 2, 2, 2], { wlim: 255 }));
  // 8-channel layers (pixels in pairs): odd pixel counts, split and i16 blocks, activations, parts,
  // the s8xs8 flip, TFLite's SAME padding, other output kinds (the per-pixel step).
  for (const rest of [
    { wlim: 128 }, { wlim: 254, wext: true, mult: 1 / 8192 }, { wlim: 255 }, { act: 'hardswish' as const }, { act: 'leaky' as const, parts: 3 },
    { batch: 2, act: 'relu' as const }, { residual: true }, { f32out: true }, { kh: 5, kw: 5, pads: [2, 2, 2, 2] as [number, number, number, number] },
  ]) {
    out.push(dw(8, 3, 3, 1, 7, 5, [1, 1, 1, 1], rest));
  }
  out.push(dw(8, 3, 3, 2, 9, 9, [0, 0, 1, 1]));
  // Output maxima below the type's (the upper clamp on the narrowed lanes): 8 channels in pairs,
  // 16-lane and 8-lane steps, 12-bit outputs.
  for (const C of [8, 24, 37]) out.push(dw(C, 3, 3, 1, 6, 5, [1, 1, 1, 1], { ceil: 20, act: 'relu' }), dw(C, 3, 3, 1, 5, 5, [1, 1, 1, 1], { ceil: 90, out12: true }));
  // The 8-lane step of a last block of 8-15 channels, relaxed and wide.
  for (const wideIn of [[2], [20], [30]]) out.push(dw(31, 3, 3, 1, 6, 7, [1, 1, 1, 1], { wlim: 127, wideIn }));
  // Output kinds, residual, fused activations, dilation, batch, parts.
  for (const rest of [
    { f32out: true }, { f32out: true, act: 'relu' as const }, { out12: true }, { residual: true }, { residual: true, res12: true, out12: true, act: 'leaky' as const },
    { act: 'hardswish' as const }, { act: 'sigmoid' as const }, { batch: 2 }, { dh: 2, dw: 2 }, { parts: 3 }, { wideIn: [3], parts: 4 },
  ]) {
    out.push(dw(37, 3, 3, 1, 9, 8, [2, 2, 2, 2], rest));
  }
  return out;
}
